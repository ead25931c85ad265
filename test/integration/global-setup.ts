// Starts the sandbox of real peers once for the integration tier and stops it afterwards.
// A missing peer is a failure here, never a skip.
import type { TestProject } from 'vitest/node';
import { type Sandbox, startSandbox } from '../peers/sandbox.ts';

let sandbox: Sandbox | undefined;

export async function setup(project: TestProject) {
  // Twenty look-alike environments (label tier=fleet) for the fleet tests.
  sandbox = await startSandbox({ fleet: 20 });
  project.provide('sandbox', sandbox.info);
}

export async function teardown() {
  await sandbox?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    sandbox: import('../peers/sandbox.ts').SandboxInfo;
  }
}
