// The seven-day guard against moto and the real API server: after a down, the database is
// put back in `available` (as AWS's restart after 7 days would); the guard stops it again,
// writes its own record, leaves actions.json alone, and the next up restores the down.
import { StartDBInstanceCommand } from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import { runGuardLocal } from '#cli/engine/local-guard';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { loadConfigFile } from '#core/config/file';
import { makeDeps } from '#core/wiring';
import { resetSandbox } from '../../sandbox/sandbox.ts';
import { dbInstanceState, etags, json, keys, rds, replicas, run, sandbox } from './peers.ts';

const P = 'eks-dev-cluster/alpha/dev';

beforeEach(async () => {
  await resetSandbox(sandbox);
});

function guardDeps() {
  const config = loadConfigFile(sandbox.configFile);
  return makeDeps({
    config,
    configSource: sandbox.configFile,
    kube: kubeconfigKube(config, sandbox.orchestratorKubeconfig),
    log: { info: () => undefined, warn: () => undefined },
  });
}
const restartEvent = {
  source: 'aws.rds',
  'detail-type': 'RDS DB Instance Event',
  region: 'us-east-1',
  detail: { EventID: 'RDS-EVENT-0154', SourceIdentifier: 'alpha-dev-rds', SourceType: 'DB_INSTANCE' },
};

describe('the seven-day guard on the real peers', () => {
  it('re-stops a parked database that came back, records it, and the next up restores the down', async () => {
    const down = await run({ action: 'down', build: '10' });
    expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
    await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'alpha-dev-rds' }));
    expect(await dbInstanceState('alpha-dev-rds')).toBe('available');
    const latest = (await etags(P))[`${P}/actions.json`];

    const g = await runGuardLocal({ deps: guardDeps(), input: restartEvent, waitMs: 200 });
    expect(g.status, JSON.stringify(g.error)).toBe('SUCCEEDED');
    expect(g.summary).toMatchObject({ restopped: 1, failed: 0 });
    expect(await dbInstanceState('alpha-dev-rds')).toBe('stopped');
    const record = (await keys(P)).find((k) => k.endsWith('/keep-stopped.json'));
    expect(record).toMatch(/\/history\/guard-[^/]+\/keep-stopped\.json$/);
    expect(await json(record as string)).toMatchObject({
      desired_state: 'keep_stopped',
      result: 'succeeded',
      kept_down_since_build: '10',
      aws_rds: { state_before: 'available', state_after: 'stopped', stop_issued: true },
    });
    expect((await etags(P))[`${P}/actions.json`]).toBe(latest);
    expect((await keys(P)).includes(`${P}/lock.json`)).toBe(false);

    const up = await run({ action: 'up', build: '11' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(await replicas('alpha-dev', 'backend-deployment')).toBe(2);
    expect(await json(`${P}/history/11/actions.json`)).toMatchObject({ restored_from_build: '10' });
  });

  it('does nothing for an environment that is up, and for a database that is not configured', async () => {
    const before = await etags(P);
    const g = await runGuardLocal({ deps: guardDeps(), input: restartEvent });
    expect(g.summary?.environments).toEqual([
      { environment: 'alpha/dev', phase: 'noop', why: 'not parked: the last change is none' },
    ]);
    const forged = await runGuardLocal({
      deps: guardDeps(),
      input: { ...restartEvent, detail: { ...restartEvent.detail, SourceIdentifier: 'not-ours-rds' } },
    });
    expect(forged.summary?.ignored).toMatch(/not the database of any configured environment/);
    expect(await etags(P)).toEqual(before);
    expect(await dbInstanceState('alpha-dev-rds')).toBe('available');
  });
});
