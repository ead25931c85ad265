// The CLI as CI runs it: `node bin/cim.mjs` on the build in dist/cli (npm run build:cli, run
// by `npm ci`), as separate processes. The other CLI tests call main() from the sources;
// this file checks that the built one behaves the same, and loads only what a command needs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildState } from '../../../bin/build-state.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function cim(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(root, 'bin', 'cim.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise<{ code: number | null; out: string; err: string }>((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => done({ code, out, err }));
  });
}

beforeAll(() => {
  const state = buildState(root);
  if (!state.fresh)
    throw new Error(`the built CLI is not up to date (${state.reason}): run npm run build:cli`);
});

describe('the built cim', () => {
  it('prints its usage for --help, and nothing on stderr', async () => {
    const r = await cim(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage:\n {2}cim up\|down\|status/);
    expect(r.out).toContain('Exit codes: 0 done, 1 failed');
    expect(r.err).toBe('');
  });

  it('refuses an unknown command with exit 64 and its usage', async () => {
    const r = await cim(['frob']);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/^cim: unknown command "frob"\n\nUsage:/);
    expect(r.out).toBe('');
  });

  it('loads no client, engine, schema library or CDK before a command needs it', () => {
    const meta = JSON.parse(readFileSync(join(root, 'dist', 'cli', 'meta.json'), 'utf8')) as {
      outputs: Record<string, { imports: { path: string; kind: string }[]; inputs: Record<string, unknown> }>;
    };
    // The entry chunk and every chunk it imports statically: what `cim --help` evaluates.
    const seen = new Set<string>();
    const visit = (out: string) => {
      if (seen.has(out)) return;
      seen.add(out);
      for (const i of meta.outputs[out]?.imports ?? []) if (i.kind === 'import-statement') visit(i.path);
    };
    visit('dist/cli/main.js');
    const loaded = [...seen].flatMap((out) => Object.keys(meta.outputs[out]?.inputs ?? {}));
    expect(loaded).toContain('cli/main.ts');
    const heavy = loaded.filter((f) =>
      /node_modules\/(@kubernetes|@aws-sdk|@smithy|aws-local-stepfunctions|aws-cdk-lib|zod|yaml)\//.test(f),
    );
    expect(heavy).toEqual([]);
    // Nor anywhere in the bundle: aws-cdk-lib (the definitions are generated) and the validator.
    const all = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
    expect(all.filter((f) => /node_modules\/(aws-cdk-lib|asl-validator|ajv)\//.test(f))).toEqual([]);
  });

  describe('a command that reaches the engine', () => {
    // Stands in for S3 (and anything else): every request is denied.
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>denied</Message></Error>');
    });
    let env: Record<string, string>;
    const dir = mkdtempSync(join(tmpdir(), 'cim-built-cli-'));
    beforeAll(async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const kubeconfig = join(dir, 'kubeconfig.yaml');
      writeFileSync(
        kubeconfig,
        `apiVersion: v1\nkind: Config\nclusters: [{ name: t, cluster: { server: "${endpoint}" } }]\nusers: [{ name: t, user: { token: t } }]\ncontexts: [{ name: t, context: { cluster: t, user: t } }]\ncurrent-context: t\n`,
      );
      env = {
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        KUBECONFIG: kubeconfig,
      };
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs Prepare from the generated definition and names the S3 permission it lacks (exit 64)', async () => {
      const r = await cim(
        [
          'status',
          '--customer',
          'alpha',
          '--env',
          'dev',
          '--config',
          join(root, 'test/fixtures/environments.yaml'),
          '--json',
        ],
        env,
      );
      expect(r.err).toBe('');
      expect(r.code).toBe(64);
      const result = JSON.parse(r.out);
      expect(result.path).toEqual(['Input is an object?', 'Prepare', 'Refused or invalid']);
      expect(result.error.name).toBe('PreflightFailed');
      expect(result.error.message).toMatch(
        /access denied by S3 \(AccessDenied\)\. Grant this identity s3:GetObject/,
      );
      expect(requests[0]).toMatch(/^GET \/customer-infra-manager\/eks-dev-cluster\/alpha\/dev\//);
    });
  });
});
