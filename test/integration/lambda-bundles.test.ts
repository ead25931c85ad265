// The deployed artifacts themselves: handlers bundled exactly as the stack bundles them,
// one directory per function as in Lambda's task root (index.mjs plus the configuration
// file deployed-config.json, its digest baked into the code), imported as the nodejs22.x
// runtime would (ESM; the runtime's @aws-sdk/* but the bundled S3 client, infra/bundling.ts)
// and invoked against moto.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { configDigest } from '#core/config/deployed';
import { loadConfigFile } from '#core/config/file';
import { makeDeps } from '#core/wiring';
import { handlers } from '#handlers/index';
import { bundleHandler } from '#infra/bundling';
import { resetSandbox } from '../../sandbox/sandbox.ts';
import { dbInstanceState, exists, json, sandbox } from './peers.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, '.cache', 'test-bundles');
type Handler = (event: unknown) => Promise<any>;
const bundles: Record<string, Handler> = {};
const config = loadConfigFile(sandbox.configFile);
const digest = configDigest(config);

beforeAll(async () => {
  delete process.env.CIM_CONFIG;
  delete process.env.LAMBDA_TASK_ROOT; // each bundle reads the file next to itself
  for (const id of ['prepare', 'record-intent', 'stop-database', 'check-database']) {
    const dir = join(out, id);
    mkdirSync(dir, { recursive: true });
    await bundleHandler(join(root, 'lambdas/handlers', `${id}.ts`), join(dir, 'index.mjs'), config);
    bundles[id] = (await import(pathToFileURL(join(dir, 'index.mjs')).href)).handler as Handler;
  }
}, 120_000);
beforeEach(async () => {
  await resetSandbox(sandbox);
});

/**
 * Prepare as the local engine runs it (the sandbox's kubeconfig): a bundled Prepare reaches
 * Kubernetes through eks:DescribeCluster, and moto's cluster endpoint does not exist.
 */
const prepareLocally = (input: Record<string, unknown>, executionId: string) =>
  handlers.prepare.withDeps(
    makeDeps({
      config,
      configSource: sandbox.configFile,
      kube: kubeconfigKube(config, sandbox.orchestratorKubeconfig),
      log: { info: () => undefined, warn: () => undefined },
    }),
  )({ input, executionId }) as Promise<any>;

describe('bundled Lambda handlers', () => {
  it('carry the deployed configuration file, and prepare reads it and the real bucket', async () => {
    const shipped = JSON.parse(readFileSync(join(out, 'prepare', 'deployed-config.json'), 'utf8'));
    expect(Object.keys(shipped)).toEqual(['defaults', 'environments']);
    // Refused before anything touches Kubernetes: `up` with no history in the bucket.
    await expect(
      bundles.prepare?.({
        input: { action: 'up', customer: 'alpha', environment: 'dev', build: '90', user: 'lambda' },
        executionId: 'arn:aws:states:us-east-1:1:execution:sm:one',
      }),
    ).rejects.toMatchObject({ name: 'ActionRefused' });
    await expect(
      bundles.prepare?.({
        input: { action: 'down', customer: 'nobody', environment: 'dev', user: 'lambda' },
      }),
    ).rejects.toMatchObject({
      name: 'UnknownEnvironment',
      message: expect.stringContaining(`the deployed configuration (digest ${digest})`),
    });
    expect(await exists('eks-dev-cluster/alpha/dev/lock.json')).toBe(false);
  });

  it('record the intent and drive the RDS instance in moto to stopped', async () => {
    const input = { action: 'down', customer: 'alpha', environment: 'dev', build: '92', user: 'lambda' };
    const prepared = await prepareLocally(input, 'arn:aws:states:us-east-1:1:execution:sm:two');
    expect(await exists('eks-dev-cluster/alpha/dev/lock.json')).toBe(true);
    const ctx = await bundles['record-intent']?.(prepared);
    expect(await exists('eks-dev-cluster/alpha/dev/history/92/pre-state.json')).toBe(true);
    expect((await json('eks-dev-cluster/alpha/dev/actions.json')).config_digest).toBe(digest);
    const stopped = await bundles['stop-database']?.(ctx);
    expect(stopped.database).toEqual({ issued: 'stop', stateBefore: 'available' });
    const poll = await bundles['check-database']?.(stopped);
    expect(poll).toMatchObject({ what: 'database', stable: true, state: 'stopped' });
    expect(await dbInstanceState('alpha-dev-rds')).toBe('stopped');
  });
});
