// The fleet workflow on the local engine: the same definition the stack deploys, its child
// Task mapped to local runs of the environment workflow with the real handlers.
import { RDSServiceException, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noRetryWaits } from '#cli/engine/local-environment';
import { type FleetRun, runFleetLocal } from '#cli/engine/local-fleet';
import { parseConfig } from '#core/config/catalog';
import { fleetExitCode } from '#core/fleet/fleet';
import { FleetSteps, WaitSteps } from '#core/steps';
import { makeWorld, type World } from '../support/world.ts';

const KEYS = ['c1/dev', 'c2/dev', 'c3/dev', 'c4/dev', 'c5/dev', 'c6/prod'];
let w: World;
beforeEach(() => {
  w = makeWorld({ perDatabase: true });
  w.deps.config = parseConfig(
    {
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'web' }, { name: 'worker' }],
        labels: { tier: 'dev' },
      },
      environments: {
        ...Object.fromEntries(KEYS.slice(0, 5).map((k) => [k, {}])),
        'c6/prod': { labels: { tier: 'prod' } },
      },
    },
    'fleet.yaml',
  );
  for (const k of KEYS) {
    const ns = k.replace('/', '-');
    w.kube.add(ns, 'web', 2).add(ns, 'worker', 1);
  }
});
afterEach(() => w.restore());

async function fleet(input: Record<string, unknown>): Promise<FleetRun> {
  return runFleetLocal({
    deps: w.deps,
    input: { user: 'jenkins', ...input },
    waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
    retryOverrides: noRetryWaits(),
  });
}

describe('fleet', () => {
  it('runs every selected environment as its own run; one failure or refusal never stops the others', async () => {
    // c2 is already down (skipped); c3's database refuses to stop (failed).
    const c2 = await fleet({ action: 'down', selection: 'c2/dev', build: 'pre' });
    expect(c2.summary?.counts).toEqual({ succeeded: 1, skipped: 0, refused: 0, failed: 0 });
    w.rds.on(StopDBInstanceCommand).callsFake((i) => {
      if (i.DBInstanceIdentifier === 'c3-dev-rds')
        throw new RDSServiceException({
          name: 'InvalidParameterCombination',
          $fault: 'client',
          $metadata: {},
          message: 'read replica',
        });
      w.setDbStateOf(i.DBInstanceIdentifier as string, 'stopped');
      return {};
    });

    const run = await fleet({
      action: 'down',
      selection: { labels: 'tier=dev' },
      build: '42',
      maxConcurrency: 2,
    });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('FleetHadFailures');
    expect(run.path.slice(-3)).toEqual([FleetSteps.record, FleetSteps.anyFailed, FleetSteps.failed]);
    expect(run.maxInFlight).toBeLessThanOrEqual(2);
    expect(run.maxInFlight).toBe(2);
    const s = run.summary;
    expect(s?.counts).toEqual({ succeeded: 3, skipped: 1, refused: 0, failed: 1 });
    const by = Object.fromEntries((s?.environments ?? []).map((e) => [e.environment, e]));
    expect(by['c2/dev']).toMatchObject({ result: 'skipped', exitCode: 2, error: { name: 'ActionRefused' } });
    expect(by['c3/dev']).toMatchObject({
      result: 'failed',
      exitCode: 1,
      error: { name: 'DatabaseActionFailed' },
    });
    expect(by['c1/dev']).toMatchObject({ result: 'succeeded', exitCode: 0 });
    expect(by['c1/dev']?.executionArn).toMatch(/c1-dev-down-42/);
    expect(by['c6/prod']).toBeUndefined();
    expect(fleetExitCode(s as never)).toBe(1);

    // Each environment has its own records; the fleet has one summary, written once.
    for (const k of ['c1/dev', 'c4/dev', 'c5/dev']) {
      expect(w.bucket.json(`eks-dev-cluster/${k}/actions.json`)).toMatchObject({
        jenkins_build: '42',
        result: 'succeeded',
        trigger: 'fleet',
      });
      expect(w.kube.replicas(k.replace('/', '-'), 'web')).toBe(0);
    }
    expect(w.bucket.json('eks-dev-cluster/c3/dev/actions.json')).toMatchObject({ result: 'failed' });
    expect(w.kube.replicas('c6-prod', 'web')).toBe(2);
    expect(w.bucket.json('fleet/history/42/summary.json')).toMatchObject({
      build: '42',
      counts: { failed: 1 },
    });

    // The whole fleet comes back up: every count restored (c3 from its unfinished down).
    w.rds.on(StopDBInstanceCommand).callsFake((i) => {
      w.setDbStateOf(i.DBInstanceIdentifier as string, 'stopped');
      return {};
    });
    const up = await fleet({ action: 'up', selection: '*/dev', build: '43' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(up.summary?.counts).toEqual({ succeeded: 5, skipped: 0, refused: 0, failed: 0 });
    for (const k of KEYS.slice(0, 5)) {
      expect(w.kube.replicas(k.replace('/', '-'), 'web')).toBe(2);
      expect(w.kube.replicas(k.replace('/', '-'), 'worker')).toBe(1);
    }
  });

  it('names a scheduled tick after the schedule and its time, so a duplicate delivery is refused before any child starts', async () => {
    const input = {
      action: 'down',
      selection: 'c1/dev',
      user: 'schedule:nightly',
      schedule: 'nightly',
      scheduledTime: '2026-11-26T19:00:00Z',
    };
    const first = await fleet(input);
    expect(first.summary?.build).toBe('nightly-20261126T1900Z');
    const claim = w.bucket.json('fleet/nightly-20261126T1900Z/claim.json') as { executionId: string };
    const actions = w.bucket.json('eks-dev-cluster/c1/dev/actions.json');
    // A schedule's child says so, whoever's fleet it runs in.
    expect(actions).toMatchObject({ jenkins_user: 'schedule:nightly', trigger: 'schedule' });
    const again = await fleet(input);
    expect(again.status).toBe('FAILED');
    expect(again.path).toEqual([FleetSteps.select, FleetSteps.refused]);
    expect(again.error?.Error).toBe('BuildAlreadyRecorded');
    expect(again.error?.Cause).toContain(`already claimed by fleet execution ${claim.executionId}`);
    expect(again.error?.Cause).toMatch(/new build id/);
    // Nothing ran again: the environment's record and the claim are the first run's.
    expect(w.bucket.json('eks-dev-cluster/c1/dev/actions.json')).toEqual(actions);
    expect(w.bucket.json('fleet/nightly-20261126T1900Z/claim.json')).toEqual(claim);
  });

  it('passes only locations and counts between states: the items and every result are in S3, as AWS writes them', async () => {
    const run = await fleet({ action: 'down', selection: '*/dev', build: '77', maxConcurrency: 3 });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const items = w.bucket.json('fleet/77/items.json') as unknown as {
      executionName: string;
      customer: string;
    }[];
    expect(items.map((i) => i.customer)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    const manifestKey = w.bucket
      .keys()
      .find((k) => /^fleet\/77\/results\/[0-9a-f-]{36}\/manifest\.json$/.test(k));
    expect(manifestKey).toBeDefined();
    const manifest = w.bucket.json(manifestKey as string) as {
      DestinationBucket: string;
      ResultFiles: Record<string, { Key: string; Size: number }[]>;
    };
    expect(manifest.DestinationBucket).toBe('customer-infra-manager');
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    expect(manifest.ResultFiles.PENDING).toEqual([]);
    const succeeded = w.bucket.json(manifest.ResultFiles.SUCCEEDED?.[0]?.Key as string) as unknown as {
      Status: string;
      Input: string;
      Output: string;
    }[];
    expect(succeeded.map((e) => e.Status)).toEqual(Array(5).fill('SUCCEEDED'));
    expect(succeeded.map((e) => JSON.parse(e.Output).run.status).sort()).toEqual(Array(5).fill('SUCCEEDED'));
    expect(run.summary?.environments.map((e) => e.environment)).toEqual(KEYS.slice(0, 5));
    expect(w.bucket.json('fleet/history/77/summary.json')).toMatchObject({ counts: { succeeded: 5 } });
  });

  it.each([
    [{ action: 'down', selection: 'zeta/dev' }, /zeta\/dev.*not found|did you mean/],
    [{ action: 'down', selection: 'tier=' }, /matches no environment/],
    [{ action: 'down', selection: 'tier in (dev' }, /label|selector|\(/],
    [{ action: 'down', selection: '*/dev', maxConcurrency: 0 }, /maxConcurrency must be at least 1/],
    [{ action: 'down', selection: '*/dev', maxConcurrency: 10_001 }, /maxConcurrency must be at most 10000/],
    [{ action: 'sideways', selection: '*/dev' }, /action must be one of/],
  ])('refuses a bad fleet request %j before anything runs', async (input, message) => {
    const run = await fleet(input);
    expect(run.status).toBe('FAILED');
    expect(['InvalidInput', 'SelectionInvalid', 'UnknownEnvironment']).toContain(run.error?.Error);
    expect(run.error?.Cause).toMatch(message);
    expect(run.path).toEqual([FleetSteps.select, FleetSteps.refused]);
    expect(w.bucket.keys()).toEqual([]);
    expect(w.kube.scaled).toEqual([]);
  });
});
