// The run index and the report from real runs on the local engine (issue 18): every run
// that got past Prepare writes one row under the day it started (a refusal writes nothing); the report's sleep, counts
// and problems are what the test's own clock moves say.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRow } from '#core/report/model';
import { FAKE_DEPLOYMENT_REQUESTS } from '../support/fake-kube.ts';
import { REPORT_AFTER_HOURS, reportFromRealRuns, SLEEP_HOURS } from '../support/report-runs.ts';
import { makeWorld, type World } from '../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';

let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

describe('the run index written by real runs', () => {
  it('holds one row per run and the report measures the sleep the test made', async () => {
    const { statuses, model, expectedHoursAsleep } = await reportFromRealRuns(w);
    expect(statuses).toEqual(['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    const keys = w.bucket.keys().filter((k) => k.startsWith(`${P}/index/`));
    expect(keys).toEqual([
      `${P}/index/2026-11-26/r1-down.json`,
      `${P}/index/2026-11-27/r2-up.json`,
      `${P}/index/2026-11-27/r4-down.json`,
    ]);
    const rows = keys.map((k) => w.bucket.json(k) as unknown as RunRow);
    expect(rows.map((r) => [r.build, r.trigger, r.outcome])).toEqual([
      ['r1', 'schedule', 'succeeded'],
      ['r2', 'cli', 'succeeded'],
      ['r4', 'schedule', 'succeeded'],
    ]);
    // Each row is written once, with If-None-Match.
    const indexWrites = w.bucket.writes.filter((x) => x.key.startsWith(`${P}/index/`));
    expect(indexWrites).toHaveLength(3);

    // The sleeps: r1's end → r2's start (the test's 10 h), r4's end → the report (3 h).
    const [r1, r2, r4] = rows as [RunRow, RunRow, RunRow];
    expect(Date.parse(r2.startedAt) - Date.parse(r1.endedAt as string)).toBe(SLEEP_HOURS * 3_600_000);
    expect(Date.parse(model.range.to) - Date.parse(r4.endedAt as string)).toBe(
      REPORT_AFTER_HOURS * 3_600_000,
    );
    expect(model.savings.facts.databases[0]?.hoursAsleep).toBeCloseTo(expectedHoursAsleep, 9);
    expect(model.savings.facts.workloads.map((x) => [x.name, x.replicas, x.hoursAsleep])).toEqual([
      ['frontend-deployment', 1, expectedHoursAsleep],
      ['backend-deployment', 2, expectedHoursAsleep],
    ]);
    // The facts the down recorded (the world's database: postgres db.t3.medium Multi-AZ, which
    // the shipped table has no price for; every fake pod requests 0.35 CPU and 320 MiB).
    expect(model.savings.facts.databases[0]).toMatchObject({
      engine: 'postgres',
      instances: [{ instanceClass: 'db.t3.medium', deployment: 'multi-az' }],
      usd: null,
    });
    expect(model.savings.estimate.unpriced.count).toBe(1);
    const pods = 1 + 2;
    expect(model.savings.facts.totals.vcpuHours).toBeCloseTo(
      pods * FAKE_DEPLOYMENT_REQUESTS.cpuCores * expectedHoursAsleep,
      9,
    );
    expect(model.savings.facts.totals.gibHours).toBeCloseTo(
      ((pods * FAKE_DEPLOYMENT_REQUESTS.memoryBytes) / 2 ** 30) * expectedHoursAsleep,
      9,
    );
    expect(model.fleet.counts.asleep).toBe(1);
    // Prepare's refusal (up after up) writes nothing at all, by design: not even its row.
    expect(model.problems).toEqual([]);
    expect(model.exclusions).toEqual([]);
  });
});
