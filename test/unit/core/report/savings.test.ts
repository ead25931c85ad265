import { describe, expect, it } from 'vitest';
import type { DatabaseFacts, EnvironmentFacts, RunRow } from '#core/report/model';
import { parsePriceTable } from '#core/report/prices';
import { computeSavings } from '#core/report/savings';

// Test prices, not AWS's: round numbers so every expected figure can be computed by hand. The
// Multi-AZ price is deliberately not twice the single-AZ one, to show it is read, not derived.
const prices = parsePriceTable(
  {
    source: 'test prices',
    date: '2026-12-01',
    currency: 'USD',
    databaseHours: {
      'us-east-1|postgres|db.m5.large|single-az': { usd: 0.2, unit: 'hour' },
      'us-east-1|postgres|db.m5.large|multi-az': { usd: 0.35, unit: 'hour' },
      'us-east-1|aurora-postgresql|db.r6g.large|single-az': { usd: 0.3, unit: 'hour' },
      'us-east-1|aurora-postgresql|db.r6g.xlarge|single-az': { usd: 0.6, unit: 'hour' },
      'us-east-1|aurora-postgresql|db.serverless|single-az': { usd: 0.12, unit: 'acu-hour' },
    },
    storage: {
      'us-east-1|gp3': { usd: 0.1, unit: 'gb-month' },
      'us-east-1|gp3|multi-az': { usd: 0.2, unit: 'gb-month' },
      'us-east-1|io1': { usd: 0.125, unit: 'gb-month' },
      'us-east-1|io1|iops': { usd: 0.1, unit: 'iops-month' },
    },
    kubernetes: { vcpuHour: 0.04, gibHour: 0.005 },
    tool: { stateTransition: 0.000025, lambdaGbSecond: 0.00002 },
  },
  'test',
);

const range = { from: '2026-06-01T00:00:00.000Z', to: '2026-06-08T00:00:00.000Z' };
const now = '2026-06-10T00:00:00.000Z';

const run = (
  action: 'up' | 'down',
  startedAt: string,
  endedAt: string,
  outcome: RunRow['outcome'] = 'succeeded',
): RunRow => ({
  customer: 'acme',
  environment: 'dev',
  action,
  build: `${action}-${startedAt}`,
  trigger: 'schedule',
  user: 'schedule:nightly',
  startedAt,
  endedAt,
  outcome,
  recordKey: `acme/dev/history/${action}-${startedAt}/actions.json`,
});

/** One night of 10 hours: the down ends 20:00, the up starts 06:00. */
const tenHours = [
  run('down', '2026-06-01T19:50:00.000Z', '2026-06-01T20:00:00.000Z'),
  run('up', '2026-06-02T06:00:00.000Z', '2026-06-02T06:15:00.000Z'),
];

const instance = (over: Partial<DatabaseFacts> = {}): DatabaseFacts => ({
  identifier: 'dev-db',
  kind: 'instance',
  engine: 'postgres',
  instanceClass: 'db.m5.large',
  multiAz: false,
  storage: null,
  members: [],
  ...over,
});

const env = (over: Partial<EnvironmentFacts> = {}): EnvironmentFacts => ({
  customer: 'acme',
  environment: 'dev',
  region: 'us-east-1',
  runs: tenHours,
  database: null,
  workloads: [],
  nodegroups: [],
  ...over,
});

describe('computeSavings', () => {
  it('prices a Multi-AZ instance from its own Multi-AZ price, never the single-AZ one doubled', () => {
    const db = instance({ multiAz: true, storage: { allocatedGb: 100, type: 'gp3', iops: 3000 } });
    const s = computeSavings([env({ database: db })], range, prices, now);
    const [line] = s.facts.databases;
    // 10 h × $0.35 = $3.50 (the single-AZ price doubled would say 10 × 0.2 × 2 = $4.00).
    expect(line?.usd).toBeCloseTo(3.5, 12);
    expect(line?.instances).toEqual([
      { identifier: 'dev-db', instanceClass: 'db.m5.large', deployment: 'multi-az' },
    ]);
    expect([line?.hoursAsleep, line?.instanceHours]).toEqual([10, 10]);
    // Still paying: 100 GB × $0.2 (Multi-AZ gp3) × 10 / 730 = 200 / 730 = $0.27397…; gp3's
    // baseline IOPS are not priced.
    expect(line?.stillPayingUsd).toBeCloseTo(200 / 730, 12);
    expect(s.estimate.databasesUsd).toBeCloseTo(3.5, 12);
    expect(s.estimate.unpriced).toEqual({ count: 0, classes: [] });
  });

  it('bills every member of a 3-member Aurora cluster by its own class', () => {
    const cluster: DatabaseFacts = {
      identifier: 'dev-cluster',
      kind: 'cluster',
      engine: 'aurora-postgresql',
      instanceClass: null,
      multiAz: true,
      storage: null,
      members: [
        { identifier: 'dev-1', instanceClass: 'db.r6g.xlarge' },
        { identifier: 'dev-2', instanceClass: 'db.r6g.large' },
        { identifier: 'dev-3', instanceClass: 'db.r6g.large' },
      ],
    };
    const s = computeSavings([env({ database: cluster })], range, prices, now);
    const [line] = s.facts.databases;
    // (0.6 + 0.3 + 0.3) $/h × 10 h = $12.00; 3 instances × 10 h = 30 instance hours.
    expect(line?.usd).toBeCloseTo(12, 12);
    expect(line?.instanceHours).toBe(30);
    expect(line?.instances.map((i) => i.instanceClass)).toEqual([
      'db.r6g.xlarge',
      'db.r6g.large',
      'db.r6g.large',
    ]);
    expect(s.facts.totals.databaseInstanceHours).toBe(30);
    // Aurora's cluster volume is not recorded: its still-paying cost is unknown, not 0.
    expect(line?.stillPayingUsd).toBeNull();
    expect(s.estimate.assumptions.join(' ')).toContain(
      '1 database(s) have storage with no price or not recorded',
    );
  });

  it('shows an Aurora cluster recorded without its members as unpriced, not as a saving of 0', () => {
    const cluster: DatabaseFacts = {
      identifier: 'old-cluster',
      kind: 'cluster',
      engine: 'aurora-postgresql',
      instanceClass: null,
      multiAz: false,
      storage: null,
      members: [],
    };
    const s = computeSavings([env({ database: cluster })], range, prices, now);
    expect(s.facts.databases[0]?.usd).toBeNull();
    expect(s.estimate.unpriced).toEqual({
      count: 1,
      classes: ['members not recorded (aurora-postgresql, us-east-1)'],
    });
  });

  it('prices a Serverless v2 member at its minimum capacity × the ACU price', () => {
    const cluster: DatabaseFacts = {
      identifier: 'dev-cluster',
      kind: 'cluster',
      engine: 'aurora-postgresql',
      instanceClass: null,
      multiAz: false,
      storage: null,
      members: [
        { identifier: 'dev-1', instanceClass: 'db.serverless', serverlessV2: { minAcu: 0.5, maxAcu: 4 } },
      ],
    };
    // 0.5 ACU × $0.12 × 10 h = $0.60.
    expect(
      computeSavings([env({ database: cluster })], range, prices, now).facts.databases[0]?.usd,
    ).toBeCloseTo(0.6, 12);
  });

  it('counts a partial day: only the hours inside the range, and a sleep going on until now', () => {
    const day = { from: '2026-06-02T00:00:00.000Z', to: '2026-06-03T00:00:00.000Z' };
    const runs = [...tenHours, run('down', '2026-06-02T19:50:00.000Z', '2026-06-02T20:00:00.000Z')];
    const s = computeSavings([env({ runs, database: instance() })], day, prices, '2026-06-02T22:00:00.000Z');
    // 00:00 → 06:00 (6 h) + 20:00 → now 22:00 (2 h) = 8 h × $0.2 = $1.60.
    expect(s.facts.databases[0]?.hoursAsleep).toBe(8);
    expect(s.estimate.databasesUsd).toBeCloseTo(1.6, 12);
  });

  it('saves nothing for a failed down', () => {
    const runs = [
      run('down', '2026-06-01T19:50:00.000Z', '2026-06-01T20:00:00.000Z', 'failed'),
      run('up', '2026-06-02T06:00:00.000Z', '2026-06-02T06:15:00.000Z'),
    ];
    const s = computeSavings([env({ runs, database: instance() })], range, prices, now);
    expect(s.facts.databases[0]?.hoursAsleep).toBe(0);
    expect(s.facts.databases[0]?.usd).toBe(0);
    expect(s.estimate.databasesUsd).toBe(0);
  });

  it('leaves an unknown class out of the total, counts and names it, and never prices it at 0', () => {
    const known = env({ environment: 'dev', database: instance() });
    const unknown = env({
      environment: 'qa',
      database: instance({ identifier: 'qa-db', instanceClass: 'db.x9.mega' }),
    });
    const s = computeSavings([known, unknown], range, prices, now);
    // Only the known one: 10 h × $0.2 = $2.00.
    expect(s.estimate.databasesUsd).toBeCloseTo(2, 12);
    expect(s.facts.databases.find((d) => d.identifier === 'qa-db')?.usd).toBeNull();
    expect(s.estimate.unpriced).toEqual({
      count: 1,
      classes: ['db.x9.mega (postgres, single-az, us-east-1)'],
    });
    // Its hours are still facts: 2 databases × 10 h.
    expect(s.facts.totals.databaseInstanceHours).toBe(20);
    expect(s.estimate.assumptions.join(' ')).toContain('1 database instance(s) have no price (db.x9.mega');
  });

  it('prices provisioned io1 IOPS while asleep, prorated over 730 hours', () => {
    const db = instance({ storage: { allocatedGb: 200, type: 'io1', iops: 1000 } });
    const s = computeSavings([env({ database: db })], range, prices, now);
    // (200 GB × $0.125 + 1000 IOPS × $0.1) = $125 a month × 10 / 730 = $1.71232…
    expect(s.estimate.stillPayingUsd).toBeCloseTo(1250 / 730, 12);
  });

  it('counts freed requests and node hours as facts, and Kubernetes money only with a price', () => {
    const e = env({
      workloads: [
        { kind: 'Deployment', namespace: 'app', name: 'web', replicas: 3, cpuCores: 0.5, memoryGiB: 1 },
        {
          kind: 'StatefulSet',
          namespace: 'app',
          name: 'cache',
          replicas: 1,
          cpuCores: null,
          memoryGiB: null,
        },
      ],
      nodegroups: [{ name: 'workers', instanceTypes: ['m5.large'], desiredSize: 2 }],
    });
    const s = computeSavings([e], range, prices, now);
    // web: 3 × 0.5 vCPU × 10 h = 15 vCPU-h; 3 × 1 GiB × 10 h = 30 GiB-h. cache sets no requests.
    expect(s.facts.totals).toEqual({
      databaseInstanceHours: 0,
      vcpuHours: 15,
      gibHours: 30,
      nodeInstanceHours: 20,
    });
    // 15 × $0.04 + 30 × $0.005 = $0.60 + $0.15 = $0.75, kept out of the net.
    expect(s.estimate.kubernetesUsd).toBeCloseTo(0.75, 12);
    // The net holds no Kubernetes money: only minus the tool's cost of the 2 runs, estimated at
    // 2 × (36 × $0.000025 + 4.25 × $0.00002) = $0.00197.
    expect(s.estimate.netUsd).toBeCloseTo(-0.00197, 12);
    expect(s.estimate.assumptions.join(' ')).toContain('1 workload(s) set no CPU or memory requests');
    expect(
      computeSavings([e], range, { ...prices, kubernetes: null }, now).estimate.kubernetesUsd,
    ).toBeNull();
  });

  it('subtracts the tool’s own cost from the database savings', () => {
    const e = env({ database: instance(), toolUsage: { stateTransitions: 40, lambdaGbSeconds: 100 } });
    const s = computeSavings([e], range, prices, now);
    // 40 × $0.000025 + 100 × $0.00002 = $0.001 + $0.002 = $0.003; net = $2.00 − $0.003 = $1.997.
    expect(s.estimate.toolCost).toEqual({
      stateTransitions: 40,
      lambdaGbSeconds: 100,
      usd: expect.closeTo(0.003, 12),
    });
    expect(s.estimate.netUsd).toBeCloseTo(1.997, 12);
    // Without usage recorded, each run in the range is estimated: 2 runs × (36 × $0.000025 +
    // 4.25 × $0.00002) = 2 × ($0.0009 + $0.000085) = $0.00197; net = $2.00 − $0.00197.
    const estimated = computeSavings([env({ database: instance() })], range, prices, now);
    expect(estimated.estimate.toolCost).toEqual({
      stateTransitions: 72,
      lambdaGbSeconds: 8.5,
      usd: expect.closeTo(0.00197, 12),
    });
    expect(estimated.estimate.netUsd).toBeCloseTo(1.99803, 12);
    expect(estimated.estimate.assumptions.join(' ')).toContain("2 run(s) did not record the tool's usage");
    // With no tool price, nothing is subtracted and the page says so.
    const unpriced = computeSavings([e], range, { ...prices, tool: null }, now);
    expect(unpriced.estimate.toolCost.usd).toBeNull();
    expect(unpriced.estimate.netUsd).toBeCloseTo(2, 12);
    expect(unpriced.estimate.assumptions.join(' ')).toContain('not subtracted');
  });

  it('states its assumptions in words: the prices’ source and date, reserved instances, the autoscaler', () => {
    const s = computeSavings(
      [env({ database: instance() })],
      range,
      { ...prices, overrides: 'contract 42 (2026-11-15)' },
      now,
    );
    expect(s.estimate.prices).toEqual({
      source: 'test prices',
      date: '2026-12-01',
      overrides: 'contract 42 (2026-11-15)',
    });
    const text = s.estimate.assumptions.join('\n');
    expect(text).toContain('test prices (taken 2026-12-01)');
    expect(text).toContain('contract 42');
    expect(text).toContain('Reserved instances');
    expect(text).toContain('autoscaler');
  });
});
