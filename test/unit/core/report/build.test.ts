import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import type { Environment } from '#core/config/schema';
import { deriveTrigger, indexKey, outcomeOfError, parseRunRow } from '#core/records/run-index';
import { buildReport } from '#core/report/build';
import type { RunRow } from '#core/report/model';
import { parsePriceTable } from '#core/report/prices';
import { memoryBucket } from '../../../support/memory-s3.ts';

const BUCKET = 'customer-infra-manager';
const prices = parsePriceTable(
  {
    source: 'test prices',
    date: '2026-12-01',
    currency: 'USD',
    databaseHours: { 'us-east-1|postgres|db.m5.large|single-az': { usd: 0.2, unit: 'hour' } },
    storage: {},
    kubernetes: { vcpuHour: 0.04, gibHour: 0.005 },
    tool: null,
  },
  'test',
);
const env = {
  customer: 'alpha',
  environment: 'dev',
  region: 'us-east-1',
  bucket: BUCKET,
  bucketRegion: 'us-east-1',
  keyPrefix: 'alpha/dev',
  namespace: 'alpha-dev',
  database: { kind: 'instance', identifier: 'alpha-dev-db' },
} as Environment;
const now = new Date('2026-12-06T06:00:00.000Z');

let bucket: ReturnType<typeof memoryBucket>;
let store: S3StateStore;
beforeEach(() => {
  bucket = memoryBucket();
  store = new S3StateStore(new S3Client({ region: 'us-east-1' }), BUCKET);
});
afterEach(() => bucket.mock.restore());

const row = (
  action: 'up' | 'down',
  build: string,
  startedAt: string,
  endedAt: string,
  over: Partial<RunRow> = {},
): RunRow => ({
  customer: 'alpha',
  environment: 'dev',
  action,
  build,
  trigger: 'schedule',
  user: 'schedule:nightly',
  startedAt,
  endedAt,
  outcome: 'succeeded',
  recordKey: `alpha/dev/history/${build}/actions.json`,
  ...over,
});
const putRow = (r: RunRow) => bucket.put(indexKey('alpha/dev', r), r);

function seedTwoNights() {
  putRow(row('down', 'b1', '2026-12-04T22:00:00.000Z', '2026-12-04T22:05:00.000Z'));
  putRow(
    row('up', 'b2', '2026-12-05T07:00:00.000Z', '2026-12-05T07:10:00.000Z', {
      trigger: 'cli',
      user: 'alice',
    }),
  );
  putRow(row('down', 'b3', '2026-12-05T22:00:00.000Z', '2026-12-05T22:04:00.000Z'));
  bucket.put('alpha/dev/history/b3/pre-state.json', {
    k8s_deployments: {
      api: {
        deployment_namespace: 'alpha-dev',
        deployment_exists: true,
        deployment_replicas: 2,
        pod_requests: { cpu_cores: 0.5, memory_bytes: 1024 ** 3 },
      },
    },
    aws_rds: {
      rds_identifier: 'alpha-dev-db',
      rds_exists: true,
      rds_state: 'available',
      rds_engine: 'postgres',
      rds_instance_class: 'db.m5.large',
      rds_multi_az: false,
    },
    timestamp: '2026-12-05T22:00:00Z',
    jenkins_build: 'b3',
  });
  bucket.put('alpha/dev/actions.json', {
    timestamp: '2026-12-05T22:00:00Z',
    jenkins_build: 'b3',
    jenkins_user: 'schedule:nightly',
    customer: 'alpha',
    environment: 'dev',
    desired_state: 'down',
    result: 'succeeded',
    last_change: {
      desired_state: 'down',
      jenkins_build: 'b3',
      result: 'succeeded',
      restore_point_build: 'b3',
    },
  });
}

describe('buildReport', () => {
  it('measures the sleep, the facts and last night from the index rows and the last down', async () => {
    seedTwoNights();
    const m = await buildReport({ environments: [{ env, store }], days: 7, now, prices });
    // Asleep 22:05 → 07:00 (8 h 55 min) and 22:04 → 06:00 now (7 h 56 min).
    const hours = 8 + 55 / 60 + (7 + 56 / 60);
    const db = m.savings.facts.databases[0];
    expect(db?.hoursAsleep).toBeCloseTo(hours, 9);
    expect(db?.usd).toBeCloseTo(hours * 0.2, 9);
    expect(m.savings.facts.totals.vcpuHours).toBeCloseTo(hours * 2 * 0.5, 9);
    expect(m.savings.facts.totals.gibHours).toBeCloseTo(hours * 2 * 1, 9);
    expect(m.fleet.counts).toMatchObject({ asleep: 1, awake: 0, failed: 0 });
    expect(m.fleet.environments[0]).toMatchObject({ state: 'asleep', since: '2026-12-05T22:04:00.000Z' });
    // Last night: the 24 h before now hold the up at 07:00 (600 s) and the down at 22:00 (240 s).
    expect(m.lastNight.counts).toEqual({ succeeded: 2, failed: 0, refused: 0, skipped: 0 });
    expect([m.lastNight.p50Seconds, m.lastNight.p95Seconds]).toEqual([240, 600]);
    expect(m.timelines[0]?.runs.map((r) => `${r.action}:${r.trigger}`)).toEqual([
      'down:schedule',
      'up:cli',
      'down:schedule',
    ]);
    expect(m.exclusions).toEqual([]);
  });

  it('lists only the index prefixes of the days in range, their seals and the guard re-stops since the down, never the history', async () => {
    seedTwoNights();
    putRow(row('down', 'old', '2026-09-01T22:00:00.000Z', '2026-09-01T22:05:00.000Z'));
    await buildReport({ environments: [{ env, store }], days: 3, now, prices });
    const prefixes = bucket.mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix);
    const days = ['2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06'];
    // Sealable: ended 7 h (the run timeout + 1 h) before 2026-12-06T06:00, i.e. up to 2026-12-04.
    expect([...(prefixes as string[])].sort()).toEqual(
      [
        ...days.map((d) => `alpha/dev/index/${d}/`),
        ...days.slice(0, 3).map((d) => `report/index/${d}/`),
        // Asleep since 2026-12-05T22:04: only guard builds named from then to now share it.
        'alpha/dev/history/guard-2026120',
      ].sort(),
    );
  });

  it('seals the days no run can reach any more, and a second report reads them from the seal with the same result', async () => {
    seedTwoNights();
    putRow(row('down', 'b0', '2026-12-01T22:00:00.000Z', '2026-12-01T22:05:00.000Z'));
    putRow(row('up', 'b0u', '2026-12-02T07:00:00.000Z', '2026-12-02T07:06:00.000Z'));
    const reads: unknown[] = [];
    const first = await buildReport({
      environments: [{ env, store }],
      days: 7,
      now,
      prices,
      onIndexRead: (r) => reads.push(r),
    });
    // 2026-11-28 … 2026-12-04 can be sealed (7 days); 2026-12-05 and 2026-12-06 cannot yet.
    const seals = [...bucket.objects.keys()].filter((k) => k.startsWith('report/index/')).sort();
    expect(seals.map((k) => k.slice('report/index/'.length, 'report/index/'.length + 10))).toEqual([
      '2026-11-28',
      '2026-11-29',
      '2026-11-30',
      '2026-12-01',
      '2026-12-02',
      '2026-12-03',
      '2026-12-04',
    ]);
    expect(reads[0]).toMatchObject({ sealedDays: 0, listedDays: 9, sealsWritten: 7, sealsRefused: 0 });
    bucket.mock.resetHistory();
    const second = await buildReport({
      environments: [{ env, store }],
      days: 7,
      now,
      prices,
      onIndexRead: (r) => reads.push(r),
    });
    expect(reads[1]).toMatchObject({ sealedDays: 7, listedDays: 2, sealsWritten: 0 });
    const listed = bucket.mock
      .commandCalls(ListObjectsV2Command)
      .map((c) => c.args[0].input.Prefix as string);
    expect(listed.filter((p) => p.startsWith('alpha/dev/index/')).sort()).toEqual([
      'alpha/dev/index/2026-12-05/',
      'alpha/dev/index/2026-12-06/',
    ]);
    expect(second).toEqual(first);
    expect(second.timelines[0]?.runs.map((r) => r.at)).toContain('2026-12-02T07:00:00.000Z');
  });

  it('checks a sealed row as a listed one: a foreign or malformed row in a seal is excluded, a bad part is listed around', async () => {
    seedTwoNights();
    const day = '2026-12-04';
    bucket.put(`report/index/${day}/0000000000000000.json`, {
      schema: 1,
      day,
      sealedAt: now.toISOString(),
      environments: {
        'alpha/dev': {
          rows: [
            row('down', 'b1', '2026-12-04T22:00:00.000Z', '2026-12-04T22:05:00.000Z'),
            row('down', 'evil', '2026-12-04T23:00:00.000Z', '2026-12-04T23:05:00.000Z', {
              customer: 'omega',
            }),
            { build: 'broken', action: 'down' },
          ],
          excluded: [],
        },
      },
    });
    bucket.put(`report/index/2026-12-03/0000000000000000.json`, '{"schema":1,"day":"2026-12-03","environ');
    const m = await buildReport({ environments: [{ env, store }], days: 3, now, prices });
    const reasons = m.exclusions.map((e) => `${e.key}: ${e.reason}`);
    expect(reasons).toContainEqual(
      expect.stringMatching(/^alpha\/dev\/index\/2026-12-04\/evil-down\.json: is the row of omega\/dev/),
    );
    expect(reasons).toContainEqual(
      expect.stringMatching(/^alpha\/dev\/index\/2026-12-04\/broken-down\.json: has no valid/),
    );
    expect(reasons).toContainEqual(
      expect.stringMatching(
        /^report\/index\/2026-12-03\/0000000000000000\.json: .*not valid JSON.*read from its rows instead/,
      ),
    );
    // b1 counted once, from the seal; the sleep it starts is measured as before.
    expect(m.timelines[0]?.runs.filter((r) => r.at === '2026-12-04T22:00:00.000Z')).toHaveLength(1);
  });

  it('still reports when it may not write seals (a read-only operator): the seal is counted as refused', async () => {
    seedTwoNights();
    const reads: { sealsRefused: number; sealsWritten: number }[] = [];
    const readOnly = {
      bucket: store.bucket,
      getJson: store.getJson.bind(store),
      listKeys: store.listKeys.bind(store),
      deleteObject: store.deleteObject.bind(store),
      putJson: async () => {
        throw new Error('AccessDenied: not allowed to write report/');
      },
    };
    const m = await buildReport({
      environments: [{ env, store: readOnly }],
      days: 3,
      now,
      prices,
      onIndexRead: (r) => reads.push(r),
    });
    expect(reads[0]).toMatchObject({ sealsWritten: 0, sealsRefused: 3 });
    expect(m.exclusions).toEqual([]);
    expect(m.fleet.counts.asleep).toBe(1);
  });

  it('counts a sleep that began before the range from the latest record', async () => {
    seedTwoNights();
    // A 1-day range starting 2026-12-05T06:00: the row of b1 is outside the days read but the
    // up at 07:00 ends its sleep, so one hour of it is in range.
    const m = await buildReport({ environments: [{ env, store }], days: 1, now, prices });
    expect(m.savings.facts.databases[0]?.hoursAsleep).toBeCloseTo(1 + 7 + 56 / 60, 9);
  });

  it('turns corrupted, truncated, oversized, future and foreign index objects into counted exclusions', async () => {
    seedTwoNights();
    const day = 'alpha/dev/index/2026-12-05/';
    bucket.put(`${day}x1-down.json`, 'not json at all');
    bucket.put(`${day}x2-down.json`, '{"customer":"alpha","environment":"dev","act');
    bucket.put(
      `${day}x3-down.json`,
      JSON.stringify({
        ...row('down', 'x3', '2026-12-05T01:00:00Z', '2026-12-05T01:01:00Z'),
        pad: 'x'.repeat(9000),
      }),
    );
    bucket.put(
      'alpha/dev/index/2026-12-06/x4-down.json',
      row('down', 'x4', '2026-12-06T23:00:00.000Z', '2026-12-06T23:05:00.000Z'),
    );
    bucket.put(`${day}x5-down.json`, {
      ...row('down', 'x5', '2026-12-05T01:00:00.000Z', '2026-12-05T01:01:00.000Z'),
      environment: 'prod',
    });
    bucket.put(`${day}x6-down.json`, {
      ...row('down', 'x6', '2026-12-05T01:00:00.000Z', '2026-12-05T01:01:00.000Z'),
      outcome: 'maybe',
    });
    const m = await buildReport({ environments: [{ env, store }], days: 7, now, prices });
    const why = Object.fromEntries(m.exclusions.map((e) => [e.key.split('/').pop(), e.reason]));
    expect(Object.keys(why).sort()).toEqual([
      'x1-down.json',
      'x2-down.json',
      'x3-down.json',
      'x4-down.json',
      'x5-down.json',
      'x6-down.json',
    ]);
    expect(why['x1-down.json']).toMatch(/not valid JSON/);
    expect(why['x2-down.json']).toMatch(/not valid JSON/);
    expect(why['x3-down.json']).toMatch(/bytes, more than a record may be/);
    expect(why['x4-down.json']).toMatch(/from the future/);
    expect(why['x5-down.json']).toMatch(/row of alpha\/prod/);
    expect(why['x6-down.json']).toMatch(/no valid outcome/);
    // The good rows still count.
    expect(m.lastNight.counts.succeeded).toBe(2);
  });

  it('reads a legacy pre-state (no facts) and unreadable latest records as unknown, not a crash', async () => {
    putRow(row('down', 'b3', '2026-12-05T22:00:00.000Z', '2026-12-05T22:04:00.000Z'));
    bucket.put('alpha/dev/history/b3/pre-state.json', {
      k8s_deployments: { api: { deployment_namespace: 'alpha-dev', deployment_replicas: 2 } },
      aws_rds: { rds_identifier: 'alpha-dev-db', rds_exists: true, rds_state: 'available' },
      timestamp: '2026-12-05T22:00:00Z',
      jenkins_build: 'b3',
    });
    bucket.put('alpha/dev/actions.json', '{"trunc');
    bucket.put('alpha/dev/hold.json', { nonsense: true });
    const m = await buildReport({ environments: [{ env, store }], days: 7, now, prices });
    expect(m.savings.facts.databases[0]).toMatchObject({ engine: null, usd: null });
    expect(m.savings.estimate.unpriced.count).toBe(1);
    expect(m.savings.facts.workloads[0]).toMatchObject({ replicas: 2, vcpuHours: 0 });
    expect(m.exclusions.map((e) => e.key)).toEqual(['alpha/dev/actions.json', 'alpha/dev/hold.json']);
  });

  it('lists failures and refusals newest first with their reason and record key', async () => {
    putRow(
      row('down', 'f1', '2026-12-03T22:00:00.000Z', '2026-12-03T22:09:00.000Z', {
        outcome: 'failed',
        reason: 'DatabaseErrorState: incompatible-parameters',
      }),
    );
    putRow(
      row('up', 'r1', '2026-12-04T07:00:00.000Z', '2026-12-04T07:00:01.000Z', {
        outcome: 'refused',
        reason: 'EnvironmentLocked: held',
      }),
    );
    const m = await buildReport({ environments: [{ env, store }], days: 7, now, prices });
    expect(m.problems.map((p) => [p.build, p.outcome, p.recordKey])).toEqual([
      ['r1', 'refused', 'alpha/dev/history/r1/actions.json'],
      ['f1', 'failed', 'alpha/dev/history/f1/actions.json'],
    ]);
    expect(m.savings.facts.databases[0]?.hoursAsleep ?? 0).toBe(0);
  });
});

describe('fleet now', () => {
  it('shows an up holding the lock as waking, and an active hold as held and as drift', async () => {
    seedTwoNights();
    bucket.put('alpha/dev/lock.json', {
      owner: 'exec-9',
      build: 'b9',
      execution_id: 'exec-9',
      action: 'up',
      user: 'alice',
      acquired_at: '2026-12-06T05:58:00.000Z',
      expires_at: '2026-12-06T06:08:00.000Z',
      heartbeat_at: '2026-12-06T05:59:40.000Z',
      step: 'Start database',
    });
    bucket.put('alpha/dev/hold.json', {
      user: 'bob',
      reason: 'load test',
      created: '2026-12-05T10:00:00.000Z',
      until: '2026-12-08T10:00:00.000Z',
      skip_next: null,
    });
    const m = await buildReport({ environments: [{ env, store }], days: 7, now, prices });
    expect(m.fleet.environments.map((e) => [e.state, e.since])).toEqual([
      ['waking', '2026-12-06T05:58:00.000Z'],
      ['held', '2026-12-05T10:00:00.000Z'],
    ]);
    expect(m.fleet.counts).toMatchObject({ waking: 1, held: 1, asleep: 0 });
    expect(m.drift).toEqual([
      expect.objectContaining({ kind: 'on-hold', detail: expect.stringContaining('load test') }),
    ]);
    expect(m.exclusions).toEqual([]);
  });
});

describe('run index rows', () => {
  it('are filed under the UTC day the run started', () => {
    expect(
      indexKey(
        'eks-dev-cluster/alpha/dev',
        row('down', '7', '2026-12-05T23:59:59.000Z', '2026-12-06T00:04:00.000Z'),
      ),
    ).toBe('eks-dev-cluster/alpha/dev/index/2026-12-05/7-down.json');
  });

  it('derive the trigger from the request when the record does not say it', () => {
    expect(deriveTrigger({ user: 'schedule:nightly', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'p' })).toBe(
      'schedule',
    );
    expect(deriveTrigger({ user: 'guard' })).toBe('guard');
    expect(deriveTrigger({ user: 'alice', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'p' })).toBe('fleet');
    expect(deriveTrigger({ user: 'alice' })).toBe('cli');
  });

  it('count a refusal and a hold apart from a failure', () => {
    expect(outcomeOfError('EnvironmentLocked')).toBe('refused');
    expect(outcomeOfError('EnvironmentOnHold')).toBe('skipped');
    expect(outcomeOfError('DatabaseErrorState')).toBe('failed');
  });

  it('read an unknown trigger as unknown and refuse a row without a start', () => {
    const r = row('down', '7', '2026-12-05T22:00:00.000Z', '2026-12-05T22:04:00.000Z');
    const parsed = parseRunRow(JSON.stringify({ ...r, trigger: 'telepathy' }), 'k');
    expect('row' in parsed && parsed.row.trigger).toBe('unknown');
    expect(parseRunRow(JSON.stringify({ ...r, startedAt: 'yesterday' }), 'k')).toEqual({
      reason: 'has no valid startedAt',
    });
  });
});
