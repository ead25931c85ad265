// Issue 16's catalog on the local engine with the real handlers: hostile records, forged
// database events and bursts of concurrent runs. Each case asserts the error (or why an event
// was ignored), that the message names the problem, and that nothing changed: every S3 key and
// etag, replicas, database calls and state. Unit-level cases: test/unit/core/bad-input-catalog.test.ts.

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalTaskTokens } from '#cli/engine/task-tokens';
import { ExitCode, exitCodeFor } from '#cli/exit-codes';
import { MAX_RECORD_BYTES } from '#core/gateways/store';
import { Steps } from '#core/steps';
import { handler as databaseEvent } from '#handlers/database-event';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
const PRE_STATE_10 = `${P}/history/10/pre-state.json`;
const ACTIONS = `${P}/actions.json`;
const LOCK = `${P}/lock.json`;
const WAIT_RECORD = `${P}/database-wait.json`;

let w: World;
beforeEach(async () => {
  w = makeWorld();
  const down = await runWorkflow(w, { action: 'down', build: '10' });
  expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
}, 60_000);
afterEach(() => w.restore());

function observe() {
  return {
    writes: w.bucket.writes.length,
    objects: Object.fromEntries([...w.bucket.objects].map(([k, o]) => [k, o.etag])),
    scaled: w.kube.scaled.length,
    replicas: Object.fromEntries([...w.kube.deployments].map(([k, d]) => [k, d.replicas])),
    rdsCalls: [...w.rdsCalls],
    dbState: w.dbState(),
  };
}

const nested = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const preState = () => structuredClone(w.bucket.json(PRE_STATE_10)) as Record<string, any>;
const ingressEntry = (spec: Record<string, unknown> = { rules: [] }) => ({
  ingress_namespace: 'alpha-dev',
  ingress_name: 'web',
  ingress_spec: spec,
  ingress_pointed: false,
});

// ---------------------------------------------------------------- hostile records

const recordCases: {
  title: string;
  key: string;
  body: () => unknown;
  error: string;
  exit: number;
  message: RegExp;
}[] = [
  {
    title: 'a restore point nested 10,000 levels deep',
    key: PRE_STATE_10,
    body: () => nested(10_000),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /pre-state\.json nests deeper than 16 levels/,
  },
  {
    title: 'a restore point of 5 MB',
    key: PRE_STATE_10,
    body: () => ({ ...preState(), padding: 'x'.repeat(5_000_000) }),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /pre-state\.json is \d{7} bytes, more than a record may be \(1048576\)/,
  },
  {
    title: 'a restore point just over the 1 MiB record bound',
    key: PRE_STATE_10,
    body: () => ({ ...preState(), padding: 'x'.repeat(1_048_576) }),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /pre-state\.json is \d{7} bytes, more than a record may be/,
  },
  {
    title: 'a restore point whose deployment "does not exist" yet is available with 3 replicas',
    key: PRE_STATE_10,
    body: () => {
      const s = preState();
      Object.assign(s.k8s_deployments['backend-deployment'], {
        deployment_exists: false,
        deployment_available: true,
        deployment_replicas: 3,
      });
      return s;
    },
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /deployment backend-deployment contradicts itself: recorded as not existing, yet available/,
  },
  // Issue 19: the Ingress specs an up would write back come from the record too.
  {
    title: 'a restore point whose recorded Ingress spec is 9,000 bytes',
    key: PRE_STATE_10,
    body: () => ({
      ...preState(),
      k8s_ingresses: { 'alpha-dev/web': ingressEntry({ rules: [{ host: 'x'.repeat(9_000) }] }) },
    }),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /Ingress alpha-dev\/web has a recorded spec of 9\d{3} bytes, above 8192/,
  },
  {
    title: "a restore point with an Ingress in a namespace not the environment's",
    key: PRE_STATE_10,
    body: () => ({
      ...preState(),
      k8s_ingresses: { 'kube-system/web': { ...ingressEntry(), ingress_namespace: 'kube-system' } },
    }),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /Ingress kube-system\/web is recorded in namespace "kube-system", not one of the environment's/,
  },
  {
    title: 'a restore point whose Ingress entry is keyed by another Ingress',
    key: PRE_STATE_10,
    body: () => ({ ...preState(), k8s_ingresses: { 'alpha-dev/api': ingressEntry() } }),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /Ingress entry "alpha-dev\/api" names alpha-dev\/web/,
  },
  {
    title: 'a restore point whose recorded Ingress spec is a string',
    key: PRE_STATE_10,
    body: () => ({
      ...preState(),
      k8s_ingresses: { 'alpha-dev/web': { ...ingressEntry(), ingress_spec: 'rules: []' } },
    }),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /not a state record \(k8s_ingresses\.alpha-dev\/web\.ingress_spec/,
  },
  {
    title: 'a restore point with 41 recorded Ingresses',
    key: PRE_STATE_10,
    body: () => ({
      ...preState(),
      k8s_ingresses: Object.fromEntries(
        Array.from({ length: 41 }, (_, i) => [
          `alpha-dev/web${i}`,
          { ...ingressEntry(), ingress_name: `web${i}` },
        ]),
      ),
    }),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /it records 41 Ingresses, more than the 40 a down records/,
  },
  {
    title: 'actions.json nested 10,000 levels deep',
    key: ACTIONS,
    body: () => nested(10_000),
    error: 'StateRecordInvalid',
    exit: ExitCode.Refused,
    message: /actions\.json nests deeper than 16 levels/,
  },
  {
    title: 'a lock record of {}',
    key: LOCK,
    body: () => ({}),
    error: 'EnvironmentLocked',
    exit: ExitCode.Refused,
    message:
      /malformed lock record .*lock\.json \(it names no owner\).*Clear it with `cim unlock --customer alpha --env dev`/,
  },
  {
    title: 'a lock record without expiry',
    key: LOCK,
    body: () => ({ owner: 'local:1:x', build: '9' }),
    error: 'EnvironmentLocked',
    exit: ExitCode.Refused,
    message: /malformed lock record .*no valid expires_at/,
  },
];

describe('hostile records are refused before the lock, and nothing changes', () => {
  it.each(recordCases)('refuses an up over $title', async ({ key, body, error, exit, message }) => {
    const b = body();
    w.bucket.put(key, typeof b === 'string' ? b : JSON.stringify(b));
    const before = observe();
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe(error);
    expect(run.error?.Cause).toMatch(message);
    expect(exitCodeFor(run.error?.Error)).toBe(exit);
    // A 5 MB record is named, never printed.
    expect(run.error?.Cause.length ?? 0).toBeLessThan(2000);
    expect(run.path.slice(-2)).toEqual([Steps.prepare, Steps.refused]);
    expect(observe()).toEqual(before);
  });
});

describe('the largest record accepted keeps Prepare within the Step Functions limit', () => {
  it('an up whose restore point is just under the record bound passes, and Prepare carries none of it', async () => {
    const record = preState();
    const base = JSON.stringify(record).length;
    // A string field of the record itself: were the record carried in the states, Prepare's
    // output would pass Step Functions' 256 KiB and the run would fail.
    record.aws_rds.message = 'x'.repeat(MAX_RECORD_BYTES - base - 64);
    w.bucket.put(PRE_STATE_10, JSON.stringify(record));
    expect(Buffer.byteLength(w.bucket.objects.get(PRE_STATE_10)?.body ?? '')).toBeLessThanOrEqual(
      MAX_RECORD_BYTES,
    );
    let prepared = 0;
    const run = await runWorkflow(
      w,
      { action: 'up', build: '11' },
      {
        wrapTask: (state, fn) => async (event) => {
          const out = await fn(event);
          if (state === Steps.prepare) prepared = Buffer.byteLength(JSON.stringify(out));
          return out;
        },
      },
    );
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(prepared).toBeGreaterThan(0);
    expect(prepared).toBeLessThan(64 * 1024);
  });
});

// ---------------------------------------------------------------- forged or stale events

const STORED_AT = '2026-11-26T20:05:00.000Z';
const genuine = (over: Record<string, unknown> = {}, detail: Record<string, unknown> = {}) => ({
  version: '0',
  source: 'aws.rds',
  'detail-type': 'RDS DB Instance Event',
  account: '123456789012',
  region: 'us-east-1',
  time: '2026-11-26T20:09:00Z',
  ...over,
  detail: {
    SourceType: 'DB_INSTANCE',
    SourceIdentifier: 'alpha-dev-rds',
    SourceArn: 'arn:aws:rds:us-east-1:123456789012:db:alpha-dev-rds',
    EventID: 'RDS-EVENT-0088',
    Message: 'DB instance started',
    ...detail,
  },
});
const withoutField = (field: string) => {
  const e: Record<string, unknown> = genuine();
  delete e[field];
  return e;
};

const eventCases: { title: string; event: unknown; why: RegExp }[] = [
  {
    title: 'from another account',
    event: genuine(
      { account: '999999999999' },
      { SourceArn: 'arn:aws:rds:us-east-1:999999999999:db:alpha-dev-rds' },
    ),
    why: /comes from account 999999999999, not this deployment's account 123456789012/,
  },
  {
    title: 'without an account',
    event: withoutField('account'),
    why: /not an RDS .* event from EventBridge \(account\)/,
  },
  { title: 'without a time', event: withoutField('time'), why: /from EventBridge \(time\)/ },
  { title: 'without a region', event: withoutField('region'), why: /from EventBridge \(region\)/ },
  {
    title: 'from another region',
    event: genuine(
      { region: 'eu-west-1' },
      { SourceArn: 'arn:aws:rds:eu-west-1:123456789012:db:alpha-dev-rds' },
    ),
    why: /is not the database of any configured environment/,
  },
  {
    title: 'whose detail-type says cluster but SourceType instance',
    event: genuine({ 'detail-type': 'RDS DB Cluster Event' }),
    why: /"RDS DB Cluster Event" does not match SourceType DB_INSTANCE/,
  },
  {
    title: 'whose SourceArn names another account',
    event: genuine({}, { SourceArn: 'arn:aws:rds:us-east-1:999999999999:db:alpha-dev-rds' }),
    why: /SourceArn .* does not name rds:us-east-1:123456789012:db:alpha-dev-rds/,
  },
  {
    title: 'whose SourceArn names another database',
    event: genuine({}, { SourceArn: 'arn:aws:rds:us-east-1:123456789012:db:beta-staging-rds' }),
    why: /SourceArn .* does not name/,
  },
  {
    title: 'older than the wait (a replay)',
    event: genuine({ time: '2026-11-25T08:00:00Z' }),
    why: /alpha\/dev: the event \(2026-11-25T08:00:00Z\) is older than the wait/,
  },
  {
    title: 'of a cluster with the instance name',
    event: genuine(
      { 'detail-type': 'RDS DB Cluster Event' },
      { SourceType: 'CLUSTER', EventID: 'RDS-EVENT-0151', SourceArn: undefined },
    ),
    why: /cluster "alpha-dev-rds" is not the database of any configured environment/,
  },
];

describe('database events are verified; anything else leaves the wait record in place', () => {
  const tokens = new LocalTaskTokens(() => undefined);
  const deliver = async (event: unknown) => {
    const previous = process.env.CIM_ACCOUNT_ID;
    process.env.CIM_ACCOUNT_ID = '123456789012';
    try {
      return (await databaseEvent.withDeps({ ...w.deps, taskTokens: tokens })(event)) as {
        completed: string[];
        ignored: string[];
      };
    } finally {
      if (previous === undefined) delete process.env.CIM_ACCOUNT_ID;
      else process.env.CIM_ACCOUNT_ID = previous;
    }
  };
  beforeEach(() => {
    w.bucket.put(
      WAIT_RECORD,
      JSON.stringify({
        token: 'token-of-a-waiting-up',
        goal: 'available',
        kind: 'instance',
        identifier: 'alpha-dev-rds',
        executionId: 'exec-11',
        storedAt: STORED_AT,
      }),
    );
  });

  it.each(eventCases)('ignores an event $title', async ({ event, why }) => {
    const before = observe();
    const r = await deliver(event);
    expect(r.completed).toEqual([]);
    expect(r.ignored.join(' | ')).toMatch(why);
    expect(observe()).toEqual(before);
    expect(w.bucket.objects.has(WAIT_RECORD)).toBe(true);
  });

  it('takes the genuine event: the wait record is consumed (the check that fails first is not the test)', async () => {
    await deliver(genuine());
    expect(w.bucket.objects.has(WAIT_RECORD)).toBe(false);
  });
});

// ---------------------------------------------------------------- refusals under a burst

describe('refusals write nothing under a burst of concurrent runs', () => {
  it('20 concurrent ups: one runs, every other is refused, and only the winner ever writes the lock', async () => {
    const lockWrites = () => w.bucket.writes.filter((x) => x.key === LOCK);
    const before = lockWrites().length;
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runWorkflow(w, { action: 'up', build: `${100 + i}` })),
    );
    const won = runs.filter((r) => r.status === 'SUCCEEDED');
    const refused = runs.filter((r) => r.status === 'FAILED');
    expect(won).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const r of refused) {
      expect(['ActionRefused', 'EnvironmentLocked']).toContain(r.error?.Error);
      expect(exitCodeFor(r.error?.Error)).toBe(ExitCode.Refused);
      expect(r.path.slice(-2)).toEqual([Steps.prepare, Steps.refused]);
    }
    // The winner creates the lock once and deletes it once; its fences are updates (puts on
    // an existing lock). A refused run that took the lock would add a create and a delete.
    const writes = lockWrites().slice(before);
    expect(writes.filter((x) => x.op === 'delete')).toHaveLength(1);
    expect(w.bucket.objects.has(LOCK)).toBe(false);
    // No refused run left a record of its build.
    const builds = [...w.bucket.objects.keys()].filter(
      (k) => k.includes('/history/1') && !k.includes('/history/10/'),
    );
    const winner = won[0]?.output as { build?: string } | undefined;
    expect(new Set(builds.map((k) => k.split('/history/')[1]?.split('/')[0]))).toEqual(
      new Set([winner?.build ?? builds[0]?.split('/history/')[1]?.split('/')[0]]),
    );
  }, 120_000);

  it('a run that read the records before another run finished is refused without ever writing the lock', async () => {
    // The interleaving of the burst, made certain: the late run reads actions.json, the
    // winner then runs from start to end (and releases its lock), then the late run goes on.
    let open: () => void = () => undefined;
    const winnerDone = new Promise<void>((r) => {
      open = r;
    });
    let reads = 0;
    const store = (env: Parameters<typeof w.deps.store>[0]) => {
      const inner = w.deps.store(env);
      return Object.assign(Object.create(inner), {
        getJson: async (key: string) => {
          const got = await inner.getJson(key);
          if (key === ACTIONS && reads++ === 0) await winnerDone;
          return got;
        },
      });
    };
    const late = runWorkflow({ ...w, deps: { ...w.deps, store } }, { action: 'up', build: '21' });
    const winner = await runWorkflow(w, { action: 'up', build: '20' });
    expect(winner.status, JSON.stringify(winner.error)).toBe('SUCCEEDED');
    const before = observe();
    open();
    const run = await late;
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('EnvironmentLocked');
    expect(run.error?.Cause).toMatch(/alpha\/dev changed while this run prepared .*nothing was changed/);
    expect(exitCodeFor(run.error?.Error)).toBe(ExitCode.Refused);
    expect(observe()).toEqual(before);
  }, 60_000);
});
