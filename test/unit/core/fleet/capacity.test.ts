import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '#core/config/catalog';
import {
  checksUntil,
  ENVIRONMENT_RUN_TIMEOUT_SECONDS,
  fleetCapacity,
  fleetTimeoutSeconds,
  fleetTooLong,
  fleetWorstCaseSeconds,
  MAP_LIMITS,
  MAX_EXECUTION_SECONDS,
  RDS_BUDGET,
  RUN_TIME_SLACK,
  runCost,
  startAt,
} from '#core/fleet/capacity';

const env = { waits: DEFAULT_SETTINGS.waits, nodegroups: [] as string[] };
const fleet = (n: number, action: 'up' | 'down', databaseEvents = true) =>
  fleetCapacity(Array.from({ length: n }, () => runCost(env, action, { databaseEvents })));

describe('capacity model', () => {
  it('counts the checks of the polling schedule that a real down makes', () => {
    // A database that stops in 480 s against a usual 300 s is seen at 0, 19, 75, 300, 305,
    // 310, 320, 340, 380, 455 and 533 s (bench/waits.ts's run of the real definition).
    expect(checksUntil(480, DEFAULT_SETTINGS.waits.databaseStop)).toBe(11);
    expect(checksUntil(0, DEFAULT_SETTINGS.waits.databaseStop)).toBe(1);
    expect(checksUntil(300, DEFAULT_SETTINGS.waits.databaseStop)).toBe(4);
  });

  it('counts fewer requests with database events than with polling, and none waiting on a target account', () => {
    expect(runCost(env, 'down', { databaseEvents: true }).requests).toBe(6);
    expect(runCost(env, 'down', { databaseEvents: false, databaseSeconds: 480 }).requests).toBe(15);
    const target = { ...env, target: { accountId: '111122223333', roleArn: 'x' } as never };
    expect(runCost(target, 'down', { databaseEvents: true, databaseSeconds: 480 }).requests).toBe(15);
  });

  it("counts one more request for an Aurora cluster: Prepare reads its members' classes for the pre-state", () => {
    const aurora = { ...env, database: { kind: 'cluster' as const } };
    expect(runCost(aurora, 'down', { databaseEvents: true }).requests).toBe(7);
    expect(runCost(aurora, 'up', { databaseEvents: true }).peakRequests).toBe(5);
    expect(runCost(aurora, 'down', { databaseEvents: true }).peakRequests).toBe(3);
    expect(
      runCost({ ...env, database: { kind: 'instance' as const } }, 'up', { databaseEvents: true }).requests,
    ).toBe(runCost(env, 'up', { databaseEvents: true }).requests);
  });

  for (const n of [200, 2000, 10_000])
    for (const action of ['down', 'up'] as const)
      it(`keeps a ${action} of ${n} environments inside the account's RDS budget`, () => {
        const c = fleet(n, action);
        const run = runCost(env, action, { databaseEvents: true });
        // Once warmed up, with runs that take as long as the slack allows: children at once ×
        // requests per run / run time.
        const steady = (c.maxConcurrency * run.requests) / (RUN_TIME_SLACK * run.seconds);
        expect(steady).toBeLessThanOrEqual(RDS_BUDGET.requestsPerSecond * RDS_BUDGET.share + 1e-9);
        // The first starts together pay their peaks from the burst allowance.
        expect(c.burstStarts * run.peakRequests).toBeLessThanOrEqual(RDS_BUDGET.burst * RDS_BUDGET.share);
        // Starting at the pace the budget refills.
        expect(run.requests / c.startIntervalSeconds).toBeLessThanOrEqual(RDS_BUDGET.requestsPerSecond);
        expect(c.maxConcurrency).toBeLessThanOrEqual(Math.min(n, MAP_LIMITS.distributed));
      });

  it('runs far more than the old fixed 10 at once, and ends 2,000 environments within the night goals', () => {
    const down = fleet(2000, 'down');
    const up = fleet(2000, 'up');
    expect(down.maxConcurrency).toBeGreaterThan(100);
    expect(down.expectedSeconds).toBeLessThanOrEqual(45 * 60);
    expect(up.expectedSeconds).toBeLessThanOrEqual(60 * 60);
  });

  it('caps the concurrency at the Map limit it is given', () => {
    expect(
      fleetCapacity(Array(500).fill(runCost(env, 'up', { databaseEvents: true })), { mapLimit: 40 }),
    ).toMatchObject({ maxConcurrency: 40 });
  });
});

describe('start pace', () => {
  it('starts the burst at once, then one child per interval', () => {
    const pace = { burstStarts: 3, startIntervalSeconds: 0.625 };
    const at = (i: number) => startAt('2026-12-06T19:00:00.000Z', i, pace);
    expect([0, 1, 2].map(at)).toEqual(Array(3).fill('2026-12-06T19:00:00.000Z'));
    expect(at(3)).toBe('2026-12-06T19:00:00.625Z');
    expect(at(1602)).toBe('2026-12-06T19:16:40.000Z');
  });

  it("asks RDS, once the burst is spent, for no more than the fleet's share of the refill rate", () => {
    const c = fleet(2000, 'down');
    const run = runCost(env, 'down', { databaseEvents: true });
    expect(run.requests / c.startIntervalSeconds).toBeCloseTo(
      RDS_BUDGET.requestsPerSecond * RDS_BUDGET.share,
    );
  });
});

describe('fleet timeout', () => {
  it('outlasts every child of the largest fleet even one at a time, up to a year', () => {
    expect(fleetTimeoutSeconds(5)).toBeGreaterThanOrEqual(5 * ENVIRONMENT_RUN_TIMEOUT_SECONDS);
    expect(fleetTimeoutSeconds(10_000)).toBe(MAX_EXECUTION_SECONDS);
    expect(fleetWorstCaseSeconds(2000, 672)).toBeGreaterThan(3 * ENVIRONMENT_RUN_TIMEOUT_SECONDS);
  });

  it('refuses a concurrency that could outlast the timeout, naming the concurrency that fits', () => {
    expect(fleetTooLong(10_000, 1000, fleetTimeoutSeconds(10_000))).toBeNull();
    expect(fleetTooLong(10_000, 2, fleetTimeoutSeconds(10_000))).toMatch(
      /10000 environment\(s\) at maxConcurrency 2 could take up to .* h .*longer than the fleet's timeout .*give maxConcurrency 7 or more/,
    );
  });
});
