// The capacity model against the definitions it describes: the RDS requests a real run of the
// environment workflow makes, the fleet's default concurrency, and the refusal of a late tick.
import { DescribeDBInstancesCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { noRetryWaits } from '#cli/engine/local-environment';
import { type FleetRun, runFleetLocal } from '#cli/engine/local-fleet';
import { parseConfig } from '#core/config/catalog';
import { RUN_REQUESTS } from '#core/fleet/capacity';
import { FleetSteps, Steps, WaitSteps } from '#core/steps';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

let w: World;
afterEach(() => w.restore());

describe('RDS requests of one run', () => {
  it("are the model's requests outside the wait plus one describe per check of a polled database", async () => {
    // Prepare and Stop database see it available, three checks see it stopping, the fourth stopped.
    w = makeWorld({ dbStates: ['available', 'available', 'stopping', 'stopping', 'stopping', 'stopped'] });
    const run = await runWorkflow(w, { action: 'down', build: '11' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const checks = run.path.filter((s) => s === Steps.checkDatabaseStopped).length;
    expect(checks).toBe(4);
    const requests =
      w.rds.commandCalls(DescribeDBInstancesCommand).length +
      w.rds.commandCalls(StopDBInstanceCommand).length;
    expect(requests).toBe(RUN_REQUESTS.outsideWait + checks);
  });
});

const fleetConfig = (n: number, schedule: Record<string, unknown> = {}) =>
  parseConfig(
    {
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'web' }],
      },
      environments: Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}/dev`, {}])),
      schedules: [
        { name: 'nightly', action: 'down', cron: '0 19 ? * MON-FRI *', environments: ['*/dev'], ...schedule },
      ],
    },
    'fleet.yaml',
  );

async function fleet(input: Record<string, unknown>): Promise<FleetRun> {
  return runFleetLocal({
    deps: w.deps,
    input: { user: 'jenkins', ...input },
    waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
    retryOverrides: noRetryWaits(),
  });
}

describe('fleet start pace', () => {
  it("writes each item's start slot at the RDS budget's pace: the first burst at once, then one per interval", async () => {
    w = makeWorld({ perDatabase: true });
    w.deps.config = fleetConfig(120);
    const run = await fleet({ action: 'down', selection: '*/dev', build: 'paced' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const items = w.bucket.json('fleet/paced/items.json') as unknown as { startAt: string }[];
    // Select's time: the claim's and the plan's.
    const start = Date.parse((w.bucket.json('fleet/paced/claim.json') as { claimedAt: string }).claimedAt);
    const offsets = items.map((i) => (Date.parse(i.startAt) - start) / 1000);
    expect(items).toHaveLength(120);
    const burst = offsets.filter((o) => o === 0).length;
    expect(burst).toBeGreaterThanOrEqual(1);
    expect(burst).toBeLessThan(120);
    // After the burst, one start every interval, evenly spaced and never earlier than the one before.
    const steps = offsets.slice(burst).map((o, i) => o - (offsets[burst + i - 1] ?? 0));
    const interval = steps[0] ?? 0;
    expect(interval).toBeGreaterThan(0);
    for (const d of steps) expect(Math.abs(d - interval)).toBeLessThanOrEqual(0.002);
    // The sustained pace stays within the budget the plan used (12 requests/s at 80 %).
    expect(interval).toBeGreaterThanOrEqual(RUN_REQUESTS.outsideWait / (12 * 0.8));
  });
});

describe('fleet concurrency and lateness', () => {
  it('sizes the default concurrency from the model instead of a fixed 10', async () => {
    w = makeWorld({ perDatabase: true });
    w.deps.config = fleetConfig(30);
    for (let i = 0; i < 30; i++) w.kube.add(`c${i}-dev`, 'web', 1);
    const run = await fleet({ action: 'down', selection: '*/dev', dryRun: true });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    // 30 environments fit the RDS budget together: all at once (the old default ran 10).
    expect(run.summary?.maxConcurrency).toBe(30);
    expect(run.maxInFlight).toBeGreaterThan(10);
  });

  it('refuses a scheduled tick that arrives later than its maxLatenessSeconds, and changes nothing', async () => {
    w = makeWorld({ perDatabase: true });
    w.deps.config = fleetConfig(3);
    for (let i = 0; i < 3; i++) w.kube.add(`c${i}-dev`, 'web', 1);
    // The world's clock reads 2026-11-26T20:00Z: a 19:00 tick is 60 min late.
    const tick = { action: 'down', selection: { patterns: ['*/dev'] }, schedule: 'nightly' };
    const late = await fleet({ ...tick, scheduledTime: '2026-11-26T18:59:00Z' });
    expect(late.status).toBe('FAILED');
    expect(late.error?.Error).toBe('ActionRefused');
    expect(late.error?.Cause).toMatch(
      /tick of schedule "nightly" for 2026-11-26T18:59:00.000Z arrived 61 min late, more than its maxLatenessSeconds \(3600 s\): nothing was started or changed/,
    );
    expect(late.path).toEqual([FleetSteps.select, FleetSteps.refused]);
    expect(w.bucket.keys()).toEqual([]);
    expect(w.kube.scaled).toEqual([]);
    expect(w.rdsCalls).toEqual([]);

    // The same tick is on time when the schedule allows two hours.
    const allowed = await fleet({ ...tick, scheduledTime: '2026-11-26T18:59:00Z', maxLatenessSeconds: 7200 });
    expect(allowed.status, JSON.stringify(allowed.error)).toBe('SUCCEEDED');
    expect(allowed.summary?.counts.succeeded).toBe(3);
  });

  it('refuses a concurrency so small that the fleet could outlast its timeout, before anything runs', async () => {
    w = makeWorld({ perDatabase: true });
    // 1,500 environments one at a time could take 375 days: more than a year, Step Functions' limit.
    w.deps.config = fleetConfig(1500);
    const run = await fleet({ action: 'down', selection: '*/dev', maxConcurrency: 1 });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('InvalidInput');
    expect(run.error?.Cause).toMatch(
      /1500 environment\(s\) at maxConcurrency 1 could take up to 9000.* h .*give maxConcurrency 2 or more/,
    );
    expect(run.path).toEqual([FleetSteps.select, FleetSteps.refused]);
    expect(w.bucket.keys()).toEqual([]);
    expect(w.rdsCalls).toEqual([]);
  });
});
