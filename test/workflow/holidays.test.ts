// A scheduled fleet tick on a skip date (in the schedule's time zone) runs no environment,
// records its summary with the reason, and exits 0; the tick of the next day runs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noRetryWaits } from '#cli/engine/local-environment';
import { runFleetLocal } from '#cli/engine/local-fleet';
import { fleetExitCode } from '#core/fleet/fleet';
import { FleetSteps, WaitSteps } from '#core/steps';
import { makeWorld, type World } from '../support/world.ts';

let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

const holidays = { timeZone: 'Europe/Berlin', dates: { '2026-03-30': 'calendar de-holidays' } };
// Each tick reaches Select a minute after its scheduled time (a later one would be refused as late).
const tick = (scheduledTime: string) => {
  const shift = Date.parse(scheduledTime) + 60_000 - w.clock.now().getTime();
  return runFleetLocal({
    deps: { ...w.deps, now: () => new Date(w.clock.now().getTime() + shift) },
    input: {
      action: 'down',
      selection: { patterns: ['alpha/dev', 'beta/staging'], labels: null },
      user: 'schedule:weeknights-down',
      dryRun: false,
      schedule: 'weeknights-down',
      scheduledTime,
      holidays,
    },
    waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
    retryOverrides: noRetryWaits(),
  });
};

describe('a scheduled tick on a skip date', () => {
  it('runs nothing and records why, with the date taken in Europe/Berlin after the DST change', async () => {
    // 2026-03-29T22:30Z is 00:30 on 2026-03-30 in Berlin (UTC+2 since the 29th): a skip date.
    const run = await tick('2026-03-29T22:30:00Z');
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).not.toContain(FleetSteps.runEnvironment);
    expect(run.summary?.counts).toEqual({ succeeded: 0, skipped: 0, refused: 0, failed: 0 });
    expect(run.summary?.holiday).toEqual({
      date: '2026-03-30',
      timeZone: 'Europe/Berlin',
      why: 'calendar de-holidays',
      reason:
        '2026-03-30 (Europe/Berlin) is a skip date (calendar de-holidays): the scheduled down of 2 environment(s) does not run',
    });
    expect(
      fleetExitCode(run.summary ?? { counts: { succeeded: 0, skipped: 0, failed: 1, refused: 0 } }),
    ).toBe(0);
    expect(w.bucket.json('fleet/history/weeknights-down-20260329T2230Z/summary.json')).toMatchObject({
      holiday: { date: '2026-03-30' },
      environments: [],
    });
    expect(w.kube.scaled).toEqual([]);
    expect(w.rdsCalls).toEqual([]);
  });

  it('runs on the day before in Berlin even though it is the skip date nowhere else', async () => {
    // 2026-03-29T21:59Z is 23:59 on the 29th in Berlin.
    const run = await tick('2026-03-29T21:59:00Z');
    expect(run.summary?.holiday).toBeUndefined();
    expect(run.summary?.counts.succeeded).toBe(2);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
  });

  it('refuses a holidays input whose dates are not dates, nothing run', async () => {
    const run = await runFleetLocal({
      deps: w.deps,
      input: {
        action: 'down',
        selection: 'alpha/dev',
        user: 'schedule:x',
        holidays: { timeZone: 'UTC', dates: { 'next friday': 'x' } },
      },
    });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Cause).toMatch(/holiday dates are YYYY-MM-DD/);
    expect(w.kube.scaled).toEqual([]);
  });
});
