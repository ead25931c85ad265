// up --restore-from-build against the real API server and moto: the counts of an older
// down come back in the cluster, the pods become ready, and an up build is refused with
// nothing changed in the cluster, the database or the bucket.
import { beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { listHistory } from '#core/records/history';
import { resetSandbox } from '../../sandbox/sandbox.ts';
import {
  apps,
  dbInstanceState,
  etags,
  json,
  pods,
  replicas,
  run,
  s3,
  sandbox,
  waitForPods,
} from './peers.ts';

const P = 'eks-dev-cluster/alpha/dev';

beforeEach(async () => {
  await resetSandbox(sandbox);
});

const scale = (name: string, value: number) =>
  apps.patchNamespacedDeploymentScale({
    namespace: 'alpha-dev',
    name,
    body: [{ op: 'replace', path: '/spec/replicas', value }],
  });

async function ok(input: Record<string, unknown>) {
  const r = await run(input);
  expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
  return r;
}

describe('up --restore-from-build on the real peers', () => {
  it('brings back the counts of an older down, not of the last one, and lists it in the history', async () => {
    await ok({ action: 'down', build: '10' });
    await ok({ action: 'up', build: '11' });
    await scale('backend-deployment', 3);
    await ok({ action: 'down', build: '12' });
    await waitForPods('alpha-dev', 'backend-deployment', { total: 0 });

    const up = await ok({ action: 'up', build: '13', restoreFromBuild: '10' });
    expect((up.output as { restorePoint: { build: string } }).restorePoint.build).toBe('10');
    expect(await replicas('alpha-dev', 'frontend-deployment')).toBe(1);
    expect(await replicas('alpha-dev', 'backend-deployment')).toBe(2);
    expect(await pods('alpha-dev', 'backend-deployment')).toMatchObject({ ready: 2 });
    expect(await dbInstanceState('alpha-dev-rds')).toBe('available');
    expect(await json(`${P}/history/13/actions.json`)).toMatchObject({
      desired_state: 'up',
      result: 'succeeded',
      restored_from_build: '10',
    });

    const config = loadConfigFile(sandbox.configFile);
    const env = resolveEnvironment(config, 'alpha', 'dev', sandbox.configFile);
    const { entries } = await listHistory(new S3StateStore(s3, env.bucket), env);
    expect(entries.map((e) => [e.build, e.action, e.restoredFromBuild ?? null])).toEqual([
      ['13', 'up', '10'],
      ['12', 'down', null],
      ['11', 'up', '10'],
      ['10', 'down', null],
    ]);
  });

  it('refuses an up build and changes nothing in the cluster, the database or the bucket', async () => {
    await ok({ action: 'down', build: '10' });
    await ok({ action: 'up', build: '11' });
    await ok({ action: 'down', build: '12' });
    const before = await etags(P);
    const r = await run({ action: 'up', build: '13', restoreFromBuild: '11' });
    expect(r.status).toBe('FAILED');
    expect(r.error?.Error).toBe('ActionRefused');
    expect(await etags(P)).toEqual(before);
    expect(await replicas('alpha-dev', 'backend-deployment')).toBe(0);
    expect(await dbInstanceState('alpha-dev-rds')).toBe('stopped');
  });
});
