// The deployed artifacts themselves: handlers bundled exactly as the stack bundles them,
// imported as the nodejs22.x runtime would (ESM, @aws-sdk external), invoked as Lambda
// invokes them (configuration from CIM_CONFIG) against moto.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '#core/config-file';
import { bundleHandler } from '#infra/bundling';
import { resetSandbox } from '../peers/sandbox.ts';
import { dbInstanceState, exists, sandbox } from './peers.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, '.cache', 'test-bundles');
type Handler = (event: unknown) => Promise<any>;
const bundles: Record<string, Handler> = {};

beforeAll(async () => {
  process.env.CIM_CONFIG = JSON.stringify(loadConfigFile(sandbox.configFile));
  mkdirSync(out, { recursive: true });
  for (const id of ['prepare', 'stop-database', 'check-database']) {
    const file = join(out, `${id}.mjs`);
    await bundleHandler(join(root, 'lambdas/handlers', `${id}.ts`), file);
    bundles[id] = (await import(pathToFileURL(file).href)).handler as Handler;
  }
}, 120_000);
beforeEach(async () => {
  await resetSandbox(sandbox);
});

describe('bundled Lambda handlers', () => {
  it('prepare takes the lock in the real bucket and refuses a second execution', async () => {
    const input = { action: 'down', customer: 'alpha', environment: 'dev', build: '90', user: 'lambda' };
    const ctx = await bundles.prepare?.({
      input,
      executionId: 'arn:aws:states:us-east-1:1:execution:sm:one',
    });
    expect(ctx.env.namespace).toBe('alpha-dev');
    expect(await exists('eks-dev-cluster/alpha/dev/lock.json')).toBe(true);
    await expect(
      bundles.prepare?.({ input: { ...input, build: '91' }, executionId: 'arn:two' }),
    ).rejects.toMatchObject({
      name: 'EnvironmentLocked',
    });
  });

  it('stop and check drive the RDS instance in moto to stopped', async () => {
    const ctx = await bundles.prepare?.({
      input: { action: 'down', customer: 'alpha', environment: 'dev', build: '92', user: 'lambda' },
    });
    const stopped = await bundles['stop-database']?.(ctx);
    expect(stopped.database).toEqual({ issued: 'stop', stateBefore: 'available' });
    const poll = await bundles['check-database']?.(stopped);
    expect(poll).toMatchObject({ what: 'database', stable: true, state: 'stopped' });
    expect(await dbInstanceState('alpha-dev-rds')).toBe('stopped');
  });
});
