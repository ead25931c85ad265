// A ReportModel built by hand for the page's tests (unit and browser): several environments,
// an Aurora cluster of three members, a Multi-AZ instance, a class with no price, a failure
// whose reason holds markup, and names that would break HTML or a spreadsheet if not escaped.
import type { ReportModel, RunRow } from '#core/report/model';

export const HOSTILE_REASON =
  '<script>document.title="pwned"</script> & "quoted" <img src=x onerror=alert(1)>';

const run = (over: Partial<RunRow> & Pick<RunRow, 'customer' | 'environment'>): RunRow => ({
  action: 'down',
  build: '42',
  trigger: 'schedule',
  user: 'schedule:nightly',
  startedAt: '2026-12-05T22:00:00.000Z',
  endedAt: '2026-12-05T22:04:30.000Z',
  outcome: 'succeeded',
  recordKey: `${over.customer}/${over.environment}/history/42/actions.json`,
  ...over,
});

export function reportModel(): ReportModel {
  const failed = run({
    customer: 'acme',
    environment: 'qa<b>',
    outcome: 'failed',
    trigger: 'cli',
    user: 'alice',
    reason: HOSTILE_REASON,
    startedAt: '2026-12-05T22:01:00.000Z',
    endedAt: '2026-12-05T22:11:00.000Z',
    recordKey: 'acme/qa<b>/history/43/actions.json',
  });
  const refused = run({
    customer: 'beta',
    environment: 'dev',
    outcome: 'refused',
    trigger: 'guard',
    user: 'guard',
    reason: 'locked by another run',
    startedAt: '2026-12-05T23:00:00.000Z',
    endedAt: '2026-12-05T23:00:02.000Z',
  });
  const slow = run({ customer: 'acme', environment: 'staging', endedAt: '2026-12-05T22:20:00.000Z' });
  return {
    schemaVersion: 1,
    generatedAt: '2026-12-06T06:00:00.000Z',
    range: { from: '2026-11-29T00:00:00.000Z', to: '2026-12-06T00:00:00.000Z', days: 7 },
    fleet: {
      counts: { asleep: 2, awake: 1, waking: 0, failed: 1, drifted: 1, held: 1 },
      environments: [
        { customer: 'acme', environment: 'staging', state: 'asleep', since: '2026-12-05T22:20:00.000Z' },
        { customer: 'gamma', environment: 'perf', state: 'asleep', since: '2026-12-05T22:05:00.000Z' },
        { customer: 'beta', environment: 'dev', state: 'awake', since: '2026-12-05T08:00:00.000Z' },
        {
          customer: 'acme',
          environment: 'qa<b>',
          state: 'failed',
          since: '2026-12-05T22:11:00.000Z',
          detail: 'down failed',
        },
        {
          customer: 'gamma',
          environment: 'perf',
          state: 'drifted',
          since: null,
          detail: 'database available',
        },
        {
          customer: 'beta',
          environment: 'dev',
          state: 'held',
          since: '2026-12-04T10:00:00.000Z',
          detail: 'until Friday',
        },
      ],
    },
    lastNight: {
      window: { from: '2026-12-05T18:00:00.000Z', to: '2026-12-06T06:00:00.000Z' },
      counts: { succeeded: 2, failed: 1, refused: 1, skipped: 3 },
      p50Seconds: 270,
      p95Seconds: 1200,
      slowest: [slow, failed],
    },
    problems: [refused, failed],
    drift: [
      {
        customer: 'gamma',
        environment: 'perf',
        kind: 'database-available-while-asleep',
        detail: 'perf-db available: AWS 7-day restart',
        since: '2026-12-03T04:00:00.000Z',
        recordKey: 'gamma/perf/history/guard-20261203T040000Z-abcdef/keep-stopped.json',
        resolvedAt: '2026-12-03T04:20:00.000Z',
      },
      { customer: 'beta', environment: 'dev', kind: 'on-hold', detail: 'held by bob', since: null },
    ],
    timelines: [
      {
        customer: 'acme',
        environment: 'staging',
        asleep: [
          { from: '2026-11-29T22:00:00.000Z', to: '2026-11-30T06:00:00.000Z' },
          { from: '2026-11-30T22:00:00.000Z', to: '2026-12-01T06:00:00.000Z' },
          { from: '2026-12-05T22:20:00.000Z', to: '2026-12-06T00:00:00.000Z' },
        ],
        runs: [
          { at: '2026-11-29T22:00:00.000Z', action: 'down', trigger: 'schedule', outcome: 'succeeded' },
          { at: '2026-11-30T06:00:00.000Z', action: 'up', trigger: 'schedule', outcome: 'succeeded' },
          { at: '2026-12-01T03:00:00.000Z', action: 'up', trigger: 'cli', outcome: 'succeeded' },
        ],
      },
      {
        customer: 'acme',
        environment: 'qa<b>',
        asleep: [],
        runs: [{ at: '2026-12-05T22:01:00.000Z', action: 'down', trigger: 'cli', outcome: 'failed' }],
      },
      {
        customer: 'beta',
        environment: 'dev',
        asleep: [{ from: '2026-12-01T20:00:00.000Z', to: '2026-12-02T07:30:00.000Z' }],
        runs: [{ at: '2026-12-05T23:00:00.000Z', action: 'up', trigger: 'guard', outcome: 'refused' }],
      },
      {
        customer: 'gamma',
        environment: 'perf',
        asleep: [{ from: '2026-12-05T22:05:00.000Z', to: '2026-12-06T00:00:00.000Z' }],
        runs: [{ at: '2026-12-05T22:00:00.000Z', action: 'down', trigger: 'fleet', outcome: 'succeeded' }],
      },
    ],
    savings: {
      facts: {
        databases: [
          {
            customer: 'acme',
            environment: 'staging',
            identifier: 'staging-aurora',
            engine: 'aurora-postgresql',
            instances: [
              { identifier: 'staging-aurora-1', instanceClass: 'db.r6g.large', deployment: 'single-az' },
              { identifier: 'staging-aurora-2', instanceClass: 'db.r6g.large', deployment: 'single-az' },
              { identifier: 'staging-aurora-3', instanceClass: 'db.r6g.xlarge', deployment: 'single-az' },
            ],
            hoursAsleep: 17.667,
            instanceHours: 53,
            usd: 21.33,
            stillPayingUsd: 1.25,
          },
          {
            customer: 'gamma',
            environment: 'perf',
            identifier: '=HYPERLINK("http://evil","x")',
            engine: 'postgres',
            instances: [{ identifier: 'perf-db', instanceClass: 'db.x9.mega', deployment: 'multi-az' }],
            hoursAsleep: 1.917,
            instanceHours: 1.917,
            usd: null,
            stillPayingUsd: null,
          },
        ],
        workloads: [
          {
            customer: 'acme',
            environment: 'staging',
            kind: 'Deployment',
            namespace: 'staging',
            name: 'api, "v2"',
            replicas: 3,
            hoursAsleep: 17.667,
            vcpuHours: 26.5,
            gibHours: 53,
          },
          {
            customer: 'beta',
            environment: 'dev',
            kind: 'StatefulSet',
            namespace: 'dev',
            name: '@cmd',
            replicas: 1,
            hoursAsleep: 11.5,
            vcpuHours: 5.75,
            gibHours: 23,
          },
        ],
        nodegroups: [
          {
            customer: 'acme',
            environment: 'staging',
            name: 'workers',
            instanceTypes: ['m6i.large', 'm6a.large'],
            hoursAsleep: 17.667,
            instanceHours: 35.333,
          },
        ],
        totals: { databaseInstanceHours: 54.917, vcpuHours: 32.25, gibHours: 76, nodeInstanceHours: 35.333 },
      },
      estimate: {
        currency: 'USD',
        prices: {
          source: 'AWS Price List API (shipped table)',
          date: '2026-11-01',
          overrides: 'prices.override.json',
        },
        databasesUsd: 21.33,
        unpriced: { count: 1, classes: ['db.x9.mega'] },
        stillPayingUsd: 1.25,
        kubernetesUsd: 1234.5,
        toolCost: { stateTransitions: 1840, lambdaGbSeconds: 95.5, usd: 0.05 },
        netUsd: 21.28,
        assumptions: ['On-demand list prices of us-east-1', 'Aurora: every member billed by its class'],
      },
    },
    exclusions: [
      { key: 'index/2026/12/03/broken.json', reason: 'truncated JSON' },
      { key: 'index/2027/01/01/future.json', reason: 'a record from the future' },
    ],
  };
}
