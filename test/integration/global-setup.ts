// Starts the sandbox of real peers once for the integration tier and stops it afterwards.
// A missing peer is a failure here, never a skip.
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { buildState } from '../../bin/build-state.mjs';
import { type Sandbox, startSandbox } from '../../sandbox/sandbox.ts';

let sandbox: Sandbox | undefined;

export async function setup(project: TestProject) {
  // The tier spawns `cim` as CI does, on the build in dist/cli: rebuilt first if a source changed.
  const built = buildState();
  if (!built.fresh) {
    process.stderr.write(`[integration] ${built.reason}: npm run build:cli\n`);
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-cli.ts'], {
      cwd: root,
      stdio: 'inherit',
    });
  }
  // Twenty look-alike environments (label tier=fleet) for the fleet tests.
  sandbox = await startSandbox({ fleet: 20 });
  project.provide('sandbox', sandbox.info);
}

export async function teardown() {
  await sandbox?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    sandbox: import('../../sandbox/sandbox.ts').SandboxInfo;
  }
}
