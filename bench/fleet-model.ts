// `npm run bench -- fleet-model` (issue 15, "Bench"): fleets of 200, 2,000 and 10,000
// environments, down and up, against an account's RDS API budget, on a virtual clock.
//
// Real: the fleet definition as the stack renders it, run on the local engine with the real
// Select and Record handlers for every size (its Map's concurrency as Select computes it,
// the largest state payload and the history it makes); the environment definition, run on the
// local engine once per database duration (bench/waits.ts's virtual world) to measure which
// Task sends which RDS request when; the Retry blocks read from the rendered definition.
// Modelled: the children of the fleet as discrete events replaying those measured patterns;
// fake databases that take 6-10 min to stop and 8-15 min to start (seeded, whole minutes);
// deployments that take 2 min; an RDS API that answers from a token bucket of 300 requests
// refilled at 12 per second (no other caller in the account); a throttled request retried as
// the AWS SDK's standard mode does (3 attempts, full jitter, 500 ms base, 20 s cap), then the
// Task retried as its Retry says (the whole handler again); a Task out of retries fails its
// environment. The events a fleet's and a child's history hold are estimated the way AWS
// counts them (entered/exited per state, scheduled/started/ended per Task attempt).

import type { EventLog } from '#cli/engine/local-environment';
import { runFleetLocal } from '#cli/engine/local-fleet';
import { DEFAULT_SETTINGS, parseConfig } from '#core/config/catalog';
import type { Config } from '#core/config/schema';
import { ErrorNames } from '#core/errors';
import {
  defaultConcurrency,
  fleetTimeoutSeconds,
  MAP_LIMITS,
  RDS_BUDGET,
  startOffsetSeconds,
} from '#core/fleet/capacity';
import { synthesizedDefinition } from '../test/support/synthesized.ts';
import { makeWorld } from '../test/support/world.ts';
import { simulate } from './waits.ts';

type Table = (title: string, head: string[], rows: (string | number)[][]) => void;
type Action = 'down' | 'up';
type Json = Record<string, unknown>;

const SIZES = (process.env.CIM_BENCH_FLEET_SIZES ?? '200,2000,10000').split(',').map(Number);
const PAYLOAD_LIMIT = 262_144;
const HISTORY_LIMIT = 25_000;
const APP_SECONDS = 120;
const GRID: Record<Action, number[]> = {
  down: [360, 420, 480, 540, 600],
  up: [480, 540, 600, 660, 720, 780, 840, 900],
};
const GOALS_2000: Record<Action, number> = { down: 45 * 60, up: 60 * 60 };
/** AWS SDK v3 standard retry mode (@smithy/core util-retry): attempts, throttling base, cap. */
const SDK = { attempts: 3, baseSeconds: 0.5, capSeconds: 20 };
/** A request's round trip on the virtual clock. */
const REQUEST_SECONDS = 0.05;

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------- measured: one environment run on the local engine ----------
interface Group {
  state: string;
  at: number;
  requests: number;
}
interface Pattern {
  dbSeconds: number;
  groups: Group[];
  runSeconds: number;
  transitions: number;
  invocations: number;
}

async function measure(action: Action, events: boolean, grid = GRID[action]): Promise<Map<number, Pattern>> {
  const out = new Map<number, Pattern>();
  for (const dbSeconds of grid) {
    const groups: Group[] = [];
    const run = await simulate(action, events, dbSeconds, APP_SECONDS, (c) => {
      const last = groups.at(-1);
      if (last && last.state === c.state && last.at === c.atSeconds) last.requests++;
      else groups.push({ state: c.state, at: c.atSeconds, requests: 1 });
    });
    out.set(dbSeconds, {
      dbSeconds,
      groups,
      runSeconds: run.runSeconds,
      transitions: run.transitions,
      invocations: run.invocations,
    });
  }
  return out;
}

// ---------- read from the rendered definitions ----------
interface RetrySpec {
  interval: number;
  backoff: number;
  maxAttempts: number;
  maxDelay: number | null;
  fullJitter: boolean;
}

function findState(def: Json, name: string): Json | null {
  const states = (def.States ?? {}) as Record<string, Json>;
  if (states[name]) return states[name];
  for (const s of Object.values(states)) {
    for (const sub of [
      ...((s.Branches as Json[] | undefined) ?? []),
      ...(s.ItemProcessor ? [s.ItemProcessor as Json] : []),
      ...(s.Iterator ? [s.Iterator as Json] : []),
    ]) {
      const found = findState(sub, name);
      if (found) return found;
    }
  }
  return null;
}

/** The Retry that repeats a throttled Task: its handler reports throttling as TransientAwsError. */
function retryOf(def: Json, state: string): RetrySpec | null {
  const retries = (findState(def, state)?.Retry ?? []) as Json[];
  const r = retries.find((x) => {
    const errors = x.ErrorEquals as string[];
    return errors.includes(ErrorNames.TransientAwsError) || errors.includes('States.ALL');
  });
  if (!r) return null;
  return {
    interval: Number(r.IntervalSeconds ?? 1),
    backoff: Number(r.BackoffRate ?? 2),
    maxAttempts: Number(r.MaxAttempts ?? 3),
    maxDelay: r.MaxDelaySeconds === undefined ? null : Number(r.MaxDelaySeconds),
    fullJitter: r.JitterStrategy === 'FULL',
  };
}

const describeRetry = (r: RetrySpec | null) =>
  r
    ? `${r.interval} s × ${r.backoff}^n, ${r.maxAttempts} retries${r.maxDelay !== null ? `, at most ${r.maxDelay} s` : ''}${r.fullJitter ? ', full jitter' : ', no jitter'}`
    : 'none';

function mapOf(def: Json): { mode: string; paced: boolean } {
  const map = Object.values((def.States ?? {}) as Record<string, Json>).find((s) => s.Type === 'Map');
  const processor = (map?.ItemProcessor ?? map?.Iterator ?? {}) as Json;
  const mode = ((processor.ProcessorConfig as Json | undefined)?.Mode as string | undefined) ?? 'INLINE';
  const paced = Object.values((processor.States ?? {}) as Record<string, Json>).some(
    (s) => s.Type === 'Wait' && typeof s.TimestampPath === 'string',
  );
  return { mode, paced };
}

// ---------- real: the fleet definition on the local engine ----------
const pad = (i: number) => String(i).padStart(5, '0');
function fleetConfig(n: number): Config {
  return parseConfig(
    {
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'frontend-deployment' }, { name: 'backend-deployment' }],
      },
      environments: Object.fromEntries(Array.from({ length: n }, (_, i) => [`cust${pad(i)}/dev`, {}])),
    },
    `fleet${n}.yaml`,
  );
}

interface EngineRun {
  maxConcurrency: number;
  largestPayload: number;
  largestPayloadAt: string;
  historyEvents: number;
  status: string;
  error?: string;
  realSeconds: number;
}

/** AWS's count: entered/exited per state, +3 per Task attempt (scheduled, started, ended), +2 per Map. */
function historyOf(events: EventLog[], def: Json): number {
  let n = 0;
  for (const e of events) {
    n++;
    const name = (e as { state?: { name?: string } }).state?.name;
    const type = name ? (findState(def, name)?.Type as string | undefined) : undefined;
    if (e.type === 'StateEntered' && type === 'Task') n += 3;
    if (e.type === 'StateRetried') n += 3;
    if (e.type === 'StateEntered' && type === 'Map') n += 2;
  }
  return n;
}

async function engineRun(n: number, action: Action, fleetDef: Json): Promise<EngineRun> {
  const w = makeWorld({ perDatabase: true });
  w.deps.config = fleetConfig(n);
  // As deployed, Select does not know whether events will arrive: it plans with polling's count.
  w.deps.databaseEvents = false;
  const events: EventLog[] = [];
  const fleetId = `arn:aws:states:local:000000000000:execution:cim-fleet:bench-${action}-${n}`;
  let largest = 0;
  let largestAt = '';
  const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? null));
  const t0 = performance.now();
  try {
    const run = await runFleetLocal({
      deps: w.deps,
      fleetDefinition: fleetDef,
      input: { action, selection: '*/dev', user: 'bench', build: `bench-${action}-${n}` },
      // The children's timing (and the start pace) is modelled below; here each child ends at once.
      environmentDefinition: { StartAt: 'Child done', States: { 'Child done': { Type: 'Succeed' } } },
      waitOverrides: {},
      executionId: fleetId,
      onEvent: (e, execution) => {
        // AWS keeps each map-run child's events in that child's history, not the fleet's.
        if (execution === fleetId) events.push(e);
        const s = (e as { state?: { name?: string; input?: unknown; output?: unknown } }).state;
        if (!s) return;
        for (const v of [s.input, s.output]) {
          const b = e.type === 'StateEntered' || e.type === 'StateExited' ? size(v) : 0;
          if (b > largest) {
            largest = b;
            largestAt = `${s.name} ${e.type === 'StateEntered' ? 'input' : 'output'}`;
          }
        }
      },
    });
    return {
      maxConcurrency: run.summary?.maxConcurrency ?? Number.NaN,
      largestPayload: largest,
      largestPayloadAt: largestAt,
      historyEvents: historyOf(events, fleetDef),
      status: run.status,
      ...(run.error ? { error: `${run.error.Error}: ${run.error.Cause.slice(0, 160)}` } : {}),
      realSeconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    w.restore();
  }
}

// ---------- modelled: the children on a virtual clock ----------
class Queue {
  private h: { t: number; s: number; f: (t: number) => void }[] = [];
  private seq = 0;
  push(t: number, f: (t: number) => void) {
    const h = this.h;
    h.push({ t, s: this.seq++, f });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(h[p], h[i])) break;
      [h[p], h[i]] = [h[i] as (typeof h)[0], h[p] as (typeof h)[0]];
      i = p;
    }
  }
  pop() {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i] as (typeof h)[0], h[m] as (typeof h)[0]];
        i = m;
      }
    }
    return top;
  }
  private less(a?: { t: number; s: number }, b?: { t: number; s: number }) {
    return !!a && !!b && (a.t < b.t || (a.t === b.t && a.s < b.s));
  }
}

interface FleetSim {
  wallSeconds: number;
  meanChildSeconds: number;
  throttles: number;
  sdkRetries: number;
  taskRetries: number;
  failed: number;
  maxInFlight: number;
  peakRequestsPerSecond: number;
  largestChildHistory: number;
}

function simulateFleet(o: {
  n: number;
  slots: number;
  patterns: Map<number, Pattern>;
  retries: Map<string, RetrySpec | null>;
  pace: { burst: number; interval: number } | null;
  seed: number;
}): FleetSim {
  const rng = mulberry32(o.seed);
  const q = new Queue();
  const grid = [...o.patterns.keys()];
  let tokens = RDS_BUDGET.burst;
  let last = 0;
  const take = (t: number) => {
    tokens = Math.min(RDS_BUDGET.burst, tokens + (t - last) * RDS_BUDGET.requestsPerSecond);
    last = t;
    if (tokens < 1) return false;
    tokens--;
    return true;
  };
  const perSecond = new Map<number, number>();
  const r: FleetSim = {
    wallSeconds: 0,
    meanChildSeconds: 0,
    throttles: 0,
    sdkRetries: 0,
    taskRetries: 0,
    failed: 0,
    maxInFlight: 0,
    peakRequestsPerSecond: 0,
    largestChildHistory: 0,
  };
  let inFlight = 0;
  let next = 0;
  let childSeconds = 0;
  const finish = (t: number, startedAt: number, history: number) => {
    inFlight--;
    r.wallSeconds = Math.max(r.wallSeconds, t);
    childSeconds += t - startedAt;
    r.largestChildHistory = Math.max(r.largestChildHistory, history);
    startNext(t);
  };
  const startChild = (t: number) => {
    const p = o.patterns.get(grid[Math.floor(rng() * grid.length)] ?? 0) as Pattern;
    inFlight++;
    r.maxInFlight = Math.max(r.maxInFlight, inFlight);
    const startedAt = t;
    let g = 0;
    let sent = 0;
    let sdkTry = 0;
    let taskAttempt = 0;
    let retried = 0;
    const history = () => 2 + 2 * p.transitions + 3 * p.invocations + 3 * retried;
    const attempt = (now: number) => {
      const group = p.groups[g] as Group;
      if (take(now)) {
        const sec = Math.floor(now);
        perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
        sent++;
        sdkTry = 0;
        if (sent < group.requests) return q.push(now + REQUEST_SECONDS, attempt);
        g++;
        sent = 0;
        taskAttempt = 0;
        const nextGroup = p.groups[g];
        if (!nextGroup)
          return q.push(now + REQUEST_SECONDS + (p.runSeconds - group.at), (t2) =>
            finish(t2, startedAt, history()),
          );
        return q.push(now + REQUEST_SECONDS + (nextGroup.at - group.at), attempt);
      }
      r.throttles++;
      sdkTry++;
      if (sdkTry < SDK.attempts) {
        r.sdkRetries++;
        const delay = rng() * Math.min(SDK.capSeconds, SDK.baseSeconds * 2 ** sdkTry);
        return q.push(now + delay, attempt);
      }
      // Out of SDK attempts: the handler fails with TransientAwsError, the Task's Retry decides.
      sdkTry = 0;
      sent = 0;
      const retry = o.retries.get(group.state) ?? null;
      if (!retry || taskAttempt >= retry.maxAttempts) {
        r.failed++;
        return q.push(now, (t2) => finish(t2, startedAt, history()));
      }
      let delay = retry.interval * retry.backoff ** taskAttempt;
      if (retry.maxDelay !== null) delay = Math.min(delay, retry.maxDelay);
      if (retry.fullJitter) delay *= rng();
      taskAttempt++;
      retried++;
      r.taskRetries++;
      q.push(now + delay, attempt);
    };
    q.push(t + (p.groups[0]?.at ?? 0), attempt);
  };
  const startNext = (t: number) => {
    if (next >= o.n || inFlight >= o.slots) return;
    const i = next++;
    // With a start pace: the first `burst` at once, then one per interval (or later, for a slot).
    const at = o.pace
      ? Math.max(
          t,
          startOffsetSeconds(i, { burstStarts: o.pace.burst, startIntervalSeconds: o.pace.interval }),
        )
      : t;
    q.push(at, startChild);
  };
  for (let i = 0; i < Math.min(o.n, o.slots); i++) startNext(0);
  for (let e = q.pop(); e; e = q.pop()) e.f(e.t);
  r.meanChildSeconds = childSeconds / o.n;
  r.peakRequestsPerSecond = Math.max(0, ...perSecond.values());
  return r;
}

// ---------- the bench ----------
const min = (s: number) => `${(s / 60).toFixed(1)}`;

export async function fleetModelBench(table: Table, results: Record<string, unknown>): Promise<void> {
  const t0 = performance.now();
  const envDef = synthesizedDefinition() as Json;
  const { workflowDefinition } = await import('#cli/engine/definitions');
  const fleetDef = (await workflowDefinition('fleet')) as Json;
  const map = mapOf(fleetDef);
  const mapLimit = map.mode === 'DISTRIBUTED' ? MAP_LIMITS.distributed : MAP_LIMITS.inline;
  const patterns: Record<'events', Record<Action, Map<number, Pattern>>> = {
    events: { down: await measure('down', true), up: await measure('up', true) },
  };
  const polling = await measure('down', false, [480]);
  const states = new Set(
    Object.values(patterns).flatMap((byAction) =>
      Object.values(byAction).flatMap((m) => [...m.values()].flatMap((p) => p.groups.map((g) => g.state))),
    ),
  );
  const retries = new Map([...states].map((s) => [s, retryOf(envDef, s)] as const));
  const describePattern = (p: Pattern) =>
    p.groups
      .map((g) => `${g.state}${g.requests > 1 ? ` ×${g.requests}` : ''} @${Math.round(g.at)}s`)
      .join(', ');
  process.stdout.write(
    [
      '',
      'fleet-model: real = the rendered fleet definition on the local engine with the real Select/Record',
      '  handlers (concurrency, payloads, history); the environment definition on the local engine per',
      '  database duration (which Task sends which RDS request when); Retry read from the definition.',
      '  modelled = children replayed as discrete events on a virtual clock; RDS as a token bucket',
      `  (${RDS_BUDGET.burst} burst, ${RDS_BUDGET.requestsPerSecond}/s, no other caller); SDK standard retries (3 attempts, full jitter);`,
      '  databases stop in 6-10 min, start in 8-15 min (seeded, whole minutes); deployments 2 min.',
      `  fleet Map: ${map.mode}${map.paced ? ', starts paced by a Wait on the item start time' : ', no start pace in the definition'}; limit ${mapLimit} children at once`,
      `  measured down (events, database 480 s): ${describePattern(patterns.events.down.get(480) as Pattern)}`,
      `  measured up (events, database 690 s ~ 660 s): ${describePattern(patterns.events.up.get(660) as Pattern)}`,
      `  measured down (polling, no events: target accounts; database 480 s): ${(polling.get(480) as Pattern).groups.reduce((s, g) => s + g.requests, 0)} requests`,
      ...[...retries].map(([s, r]) => `  Retry of "${s}": ${describeRetry(r)}`),
      '',
    ].join('\n'),
  );

  const rows: (string | number)[][] = [];
  const data: Json[] = [];
  for (const n of SIZES) {
    for (const action of ['down', 'up'] as const) {
      const engine = await engineRun(n, action, fleetDef);
      const C = engine.maxConcurrency;
      const pats = patterns.events[action];
      const one = [...pats.values()].reduce((s, p) => s + p.runSeconds, 0) / pats.size;
      // The pace Select puts in the plan (the same model, the same environments).
      const model = defaultConcurrency(
        Array.from({ length: n }, () => ({ waits: DEFAULT_SETTINGS.waits, nodegroups: [] })),
        action,
        false,
      );
      const pace = { burst: model.burstStarts, interval: model.startIntervalSeconds };
      // As rendered; then, for an inline Map, as the Distributed Map of issue 15 item 2 would
      // run it; then with the model's start pace (not in the definition unless `paced`).
      const variants = [
        {
          variant: `as rendered (${map.mode.toLowerCase()}${map.paced ? ', paced' : ''})`,
          slots: Math.min(C, mapLimit),
          pace: map.paced ? pace : null,
          engineCounts: true,
        },
        ...(map.mode !== 'DISTRIBUTED'
          ? [{ variant: 'distributed, unpaced', slots: C, pace: null, engineCounts: false }]
          : []),
        ...(map.paced ? [] : [{ variant: 'distributed, model pace', slots: C, pace, engineCounts: false }]),
      ];
      for (const v of variants) {
        const sim = simulateFleet({
          n,
          slots: v.slots,
          patterns: pats,
          retries,
          pace: v.pace,
          seed: n + (action === 'up' ? 1 : 0),
        });
        const violations: string[] = [];
        if (v.engineCounts) {
          if (engine.status !== 'SUCCEEDED') violations.push(`fleet ${engine.status}: ${engine.error}`);
          if (engine.largestPayload > PAYLOAD_LIMIT)
            violations.push(`payload ${engine.largestPayload} B at ${engine.largestPayloadAt}`);
          if (engine.historyEvents > HISTORY_LIMIT)
            violations.push(`fleet history ${engine.historyEvents} events`);
          if (map.mode !== 'DISTRIBUTED' && C > MAP_LIMITS.inline)
            violations.push(`inline Map asks ${C} > 40 at once`);
        }
        if (sim.largestChildHistory > HISTORY_LIMIT)
          violations.push(`child history ${sim.largestChildHistory} events`);
        if (sim.failed) violations.push(`${sim.failed} environment(s) failed on throttling`);
        if (sim.wallSeconds > fleetTimeoutSeconds(n)) violations.push('fleet outlasts its timeout');
        rows.push([
          n,
          action,
          v.variant,
          v.slots,
          v.pace ? `${v.pace.burst} + 1/${v.pace.interval} s` : 'all slots',
          min(sim.wallSeconds),
          (sim.wallSeconds / one).toFixed(1),
          sim.throttles,
          `${sim.sdkRetries} / ${sim.taskRetries}`,
          sim.failed,
          sim.peakRequestsPerSecond,
          v.engineCounts ? `${engine.largestPayload} (${engine.largestPayloadAt})` : '-',
          `${v.engineCounts ? engine.historyEvents : '-'} / ${sim.largestChildHistory}`,
          v.engineCounts ? violations.length : `${violations.length}+`,
          n === 2000 ? (sim.wallSeconds <= GOALS_2000[action] && !violations.length ? 'met' : 'missed') : '-',
        ]);
        data.push({
          environments: n,
          action,
          variant: v.variant,
          maxConcurrency: C,
          slots: v.slots,
          pace: v.pace,
          oneEnvironmentSeconds: Math.round(one),
          simulated: sim,
          violations,
        });
        process.stdout.write(
          `  ${n} ${action} ${v.variant}: ${violations.length} violation(s)${violations.length ? `: ${violations.join('; ')}` : ''}\n`,
        );
      }
      data.push({ environments: n, action, engine });
    }
  }
  table(
    `fleet-model: RDS budget ${RDS_BUDGET.burst} burst / ${RDS_BUDGET.requestsPerSecond} per s, virtual time; concurrency from the real Select; payload and fleet history from the real fleet definition on the local engine`,
    [
      'envs',
      'action',
      'variant',
      'at once',
      'start pace',
      'wall min',
      'ratio to one env',
      'throttles',
      'retries SDK / Task',
      'failed',
      'peak req/s',
      'largest state payload B',
      'history fleet / child',
      'quota violations',
      '2,000 goal',
    ],
    rows,
  );
  results.fleetModel = {
    budget: RDS_BUDGET,
    map,
    retries: Object.fromEntries(retries),
    patterns: {
      events: Object.fromEntries(Object.entries(patterns.events).map(([a, m]) => [a, [...m.values()]])),
      pollingDown480: polling.get(480),
    },
    runs: data,
    benchSeconds: Math.round((performance.now() - t0) / 1000),
  };
}
