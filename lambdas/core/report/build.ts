// Owns reading the records into the report's model (issue 18): the index rows of the days
// shown, the latest records for "fleet now" (read-only), the last down's pre-state for the
// facts the savings are priced from; then sleep.ts and savings.ts do the arithmetic.
// Never lists an environment's history. S3 requests of one report over D days (D + 2 days read):
//   per bucket and day old enough to be sealed (day-seals.ts): 1 LIST + 1 GET per seal part;
//   per environment and day not sealed yet: 1 LIST of {keyPrefix}/index/{day}/ + 1 GET per run
//     (and, once the day can be sealed, 1 PUT per bucket and day: the seal);
//   per environment: 3 GET for "fleet now" (actions.json, lock.json, hold.json)
//     + 1 GET of the last succeeded down's pre-state (facts; 0 when there is none)
//     + drift (drift.ts): at most 1 LIST and 1 GET;
//   per bucket: 1 GET of report/prices.json (prices.ts).
// 2,000 environments × 30 days with 2 runs a night (bench/report.ts): the first report reads
// 66,030 LIST + 126,000 GET; once sealed 6,030 LIST + 12,030 GET (the 2 recent days, "fleet now"
// and drift). All share REQUESTS_IN_FLIGHT (read-budget.ts).
// Bad input never crashes the report: an index object that is corrupted, truncated, over the
// bounds, from the future or of another environment, and a record that cannot be read, each
// become an Exclusion with its key and reason (shown on the page and counted).
import type { Environment } from '../config/schema.ts';
import { ErrorNames, errorMessage, errorName } from '../errors.ts';
import { MAX_RECORD_BYTES, type StateStore } from '../gateways/store.ts';
import { readHold } from '../records/hold.ts';
import { actionFromLegacy } from '../records/legacy-state.ts';
import { readLock } from '../records/lock.ts';
import { stateFacts } from '../records/report-facts.ts';
import { dayOf, indexDayPrefix, MAX_INDEX_ROW_BYTES, parseRunRow } from '../records/run-index.ts';
import { readSeals, type SealedDay, sealable, writeSeal } from './day-seals.ts';
import { readDrift } from './drift.ts';
import type {
  DatabaseFacts,
  DriftRow,
  EnvironmentFacts,
  EnvironmentNow,
  EnvironmentNowRow,
  Exclusion,
  Interval,
  NodegroupFacts,
  PriceTable,
  ReportModel,
  RunOutcome,
  RunRow,
  TimelineRow,
  WorkloadFacts,
} from './model.ts';
import { REPORT_SCHEMA_VERSION } from './model.ts';
import {
  budgetedStore,
  noRequests,
  REQUESTS_IN_FLIGHT,
  type ReportRequests,
  requestBudget,
} from './read-budget.ts';
import { computeSavings } from './savings.ts';
import { sleepIntervals } from './sleep.ts';

const DAY_MS = 86_400_000;
/** Rows listed per environment and day: far above a real day's runs; past it the rest is excluded. */
export const MAX_ROWS_PER_DAY = 1_000;
/** Environments read at once: their requests share REQUESTS_IN_FLIGHT; this bounds memory. */
const ENVIRONMENTS_AT_ONCE = 64;
/** How many of the slowest runs of last night are shown. */
const SLOWEST = 5;
/** A row that starts later than now by more than this is from the future (clock skew allowed). */
const FUTURE_SKEW_MS = 5 * 60_000;

export interface ReportSource {
  env: Environment;
  store: StateStore;
}

export interface BuildReportInput {
  environments: readonly ReportSource[];
  days: number;
  now: Date;
  prices: PriceTable;
  /** Counts the report's S3 requests (the bench, the CLI's summary). */
  requests?: ReportRequests;
  /** How the index was read: days from seals, days listed, seals written. */
  onIndexRead?: (read: IndexRead) => void;
}

export interface IndexRead {
  /** Environment-days read from a bucket's seal (1 LIST + 1 GET per bucket and day, shared). */
  sealedDays: number;
  /** Environment-days read from their rows (1 LIST + 1 GET per row each). */
  listedDays: number;
  sealsWritten: number;
  /** Seals not written: the reader may not write report/ (the report is complete all the same). */
  sealsRefused: number;
  requests: ReportRequests;
}

interface BucketSeals {
  store: StateStore;
  /** day → key prefix → what the seal kept */
  days: Map<string, Map<string, SealedDay>>;
  parts: Map<string, number>;
  exclusions: Exclusion[];
}

/** The seals of the sealable days shown, per bucket: 1 LIST + 1 GET per part, per bucket and day. */
async function readBucketSeals(
  sources: readonly ReportSource[],
  dayList: readonly string[],
  now: Date,
): Promise<Map<string, BucketSeals>> {
  const out = new Map<string, BucketSeals>();
  for (const s of sources)
    if (!out.has(s.store.bucket))
      out.set(s.store.bucket, { store: s.store, days: new Map(), parts: new Map(), exclusions: [] });
  await Promise.all(
    [...out.values()].flatMap((b) =>
      dayList
        .filter((day) => sealable(day, now))
        .map(async (day) => {
          const read = await readSeals(b.store, day);
          b.days.set(day, read.sealed);
          b.parts.set(day, read.parts);
          b.exclusions.push(...read.exclusions);
        }),
    ),
  );
  return out;
}

/**
 * Seals, per bucket, each sealable day this report read from its rows for environments whose
 * every read succeeded: one write-once part per bucket and day (day-seals.ts).
 */
async function sealWhatWasListed(
  days: number,
  reads: readonly { source: ReportSource; fresh: Map<string, DayRead> }[],
  seals: Map<string, BucketSeals>,
  now: Date,
): Promise<Omit<IndexRead, 'requests'>> {
  const out = { sealedDays: 0, listedDays: 0, sealsWritten: 0, sealsRefused: 0 };
  const toSeal = new Map<string, Map<string, Map<string, SealedDay>>>(); // bucket → day → prefix
  for (const r of reads) {
    const bucket = r.source.store.bucket;
    out.listedDays += r.fresh.size;
    out.sealedDays += days - r.fresh.size;
    for (const [day, read] of r.fresh) {
      if (!read.sealable || !sealable(day, now)) continue;
      const byDay = toSeal.get(bucket) ?? new Map<string, Map<string, SealedDay>>();
      toSeal.set(bucket, byDay);
      const envs = byDay.get(day) ?? new Map<string, SealedDay>();
      byDay.set(day, envs);
      envs.set(r.source.env.keyPrefix, { rows: read.rows, excluded: read.excluded });
    }
  }
  await Promise.all(
    [...toSeal].flatMap(([bucket, byDay]) =>
      [...byDay].map(async ([day, envs]) => {
        const b = seals.get(bucket);
        if (!b) return;
        const status = await writeSeal(b.store, day, now, envs, b.parts.get(day) ?? 0);
        if (status === 'written') out.sealsWritten++;
        if (status === 'refused') out.sealsRefused++;
      }),
    ),
  );
  return out;
}

async function mapBounded<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** The UTC days from `from`'s day to `to`'s day, both included. */
export function daysBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  const start = Date.parse(`${dayOf(from.toISOString())}T00:00:00.000Z`);
  for (let t = start; t <= to.getTime(); t += DAY_MS) out.push(dayOf(new Date(t).toISOString()));
  return out;
}

/** One environment's day as read: its rows and exclusions; `sealable` when no read failed. */
export interface DayRead {
  rows: RunRow[];
  excluded: Exclusion[];
  /** Every exclusion is of the content (permanent): the day may be sealed as read. */
  sealable: boolean;
}

/** A row read back (listed or from a seal), checked as untrusted: the row, or why it is excluded. */
function checkRow(json: unknown, key: string, bucket: string, env: Environment, day: string, now: Date) {
  const parsed = parseRunRow(JSON.stringify(json), `s3://${bucket}/${key}`);
  if ('reason' in parsed) return { key, reason: parsed.reason };
  const row = parsed.row;
  if (row.customer !== env.customer || row.environment !== env.environment)
    return { key, reason: `is the row of ${row.customer}/${row.environment}, not of this environment` };
  if (dayOf(row.startedAt) !== day)
    return { key, reason: `starts on ${dayOf(row.startedAt)}, not on the day it is filed under` };
  const future = Math.max(Date.parse(row.startedAt), row.endedAt ? Date.parse(row.endedAt) : 0);
  if (future > now.getTime() + FUTURE_SKEW_MS)
    return { key, reason: `is from the future (${new Date(future).toISOString()})` };
  if (row.endedAt !== null && Date.parse(row.endedAt) < Date.parse(row.startedAt))
    return { key, reason: 'ends before it starts' };
  return row;
}

const isExclusion = (r: RunRow | Exclusion): r is Exclusion => 'reason' in r && !('build' in r);

/** One environment's day from its index rows: 1 LIST + 1 GET per row. */
export async function readDayRows(source: ReportSource, day: string, now: Date): Promise<DayRead> {
  const { env, store } = source;
  const prefix = indexDayPrefix(env.keyPrefix, day);
  let keys: string[];
  try {
    keys = await store.listKeys(prefix, MAX_ROWS_PER_DAY + 1);
  } catch (err) {
    return {
      rows: [],
      excluded: [{ key: prefix, reason: `could not be listed: ${errorMessage(err)}` }],
      sealable: false,
    };
  }
  const out: DayRead = { rows: [], excluded: [], sealable: true };
  if (keys.length > MAX_ROWS_PER_DAY) {
    out.excluded.push({
      key: prefix,
      reason: `holds more than ${MAX_ROWS_PER_DAY} rows; the rest were not read`,
    });
    keys = keys.slice(0, MAX_ROWS_PER_DAY);
  }
  const got = await Promise.all(
    keys.map((key) =>
      store.getJson(key, { maxBytes: MAX_INDEX_ROW_BYTES }).then(
        (g) => ({ key, json: g ? g.json : undefined }),
        (err: unknown) => ({ key, err }),
      ),
    ),
  );
  for (const g of got) {
    if ('err' in g) {
      out.excluded.push({ key: g.key, reason: errorMessage(g.err) });
      // A bad object stays bad; a request that failed may pass next time: not sealed then.
      if (errorName(g.err) !== ErrorNames.StateRecordInvalid) out.sealable = false;
      continue;
    }
    if (g.json === undefined) continue; // deleted between the list and the read
    const r = checkRow(g.json, g.key, store.bucket, env, day, now);
    if (isExclusion(r)) out.excluded.push(r);
    else out.rows.push(r);
  }
  return out;
}

/** One environment's day from a seal: every row checked again, as if listed. */
export function readSealedDay(source: ReportSource, day: string, sealed: SealedDay, now: Date): DayRead {
  const out: DayRead = { rows: [], excluded: [...sealed.excluded], sealable: false };
  for (const json of sealed.rows.slice(0, MAX_ROWS_PER_DAY)) {
    const r = checkRow(json, sealKeyOfRow(source, json, day), source.store.bucket, source.env, day, now);
    if (isExclusion(r)) out.excluded.push(r);
    else out.rows.push(r);
  }
  return out;
}

/** A sealed row's own index key when it names its build and action, else its day's prefix. */
function sealKeyOfRow(source: ReportSource, json: unknown, day: string): string {
  const o = json as { build?: unknown; action?: unknown } | null;
  return o && typeof o.build === 'string' && typeof o.action === 'string'
    ? `${indexDayPrefix(source.env.keyPrefix, day)}${o.build.slice(0, 256)}-${o.action.slice(0, 32)}.json`
    : indexDayPrefix(source.env.keyPrefix, day);
}

/**
 * The index rows of one environment for the days given, with what was left out and why:
 * from the bucket's seal of a day when it covers this environment, else from the day's rows
 * (`fresh` keeps those reads, for sealing).
 */
export async function readIndexRows(
  source: ReportSource,
  days: readonly string[],
  now: Date,
  seals: ReadonlyMap<string, ReadonlyMap<string, SealedDay>> = new Map(),
): Promise<{ rows: RunRow[]; exclusions: Exclusion[]; fresh: Map<string, DayRead> }> {
  const fresh = new Map<string, DayRead>();
  const reads = await Promise.all(
    days.map(async (day) => {
      const sealed = seals.get(day)?.get(source.env.keyPrefix);
      if (sealed) return readSealedDay(source, day, sealed, now);
      const read = await readDayRows(source, day, now);
      fresh.set(day, read);
      return read;
    }),
  );
  const rows = reads.flatMap((r) => r.rows).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return { rows, exclusions: reads.flatMap((r) => r.excluded), fresh };
}

/**
 * The facts of a pre-state, read by records/report-facts.ts (legacy records: unknown). A
 * legacy record's database has no facts but is there: it is kept, of unknown engine and class,
 * so its hours asleep are shown and it is counted as unpriced rather than dropped.
 */
export function factsFromPreState(
  json: unknown,
  key: string,
  env: Environment,
): {
  database: DatabaseFacts | null;
  workloads: WorkloadFacts[];
  nodegroups: NodegroupFacts[];
  ignored: string[];
} {
  const facts = stateFacts(json, key);
  const rds = (json as { aws_rds?: { rds_identifier?: unknown; rds_kind?: unknown } } | null)?.aws_rds;
  const database: DatabaseFacts | null =
    facts.database ??
    (rds && typeof rds.rds_identifier === 'string'
      ? {
          identifier: rds.rds_identifier,
          kind: rds.rds_kind === 'cluster' ? 'cluster' : env.database.kind,
          engine: null,
          instanceClass: null,
          multiAz: false,
          storage: null,
          members: [],
        }
      : null);
  return { ...facts, database };
}

interface EnvironmentRead {
  source: ReportSource;
  /** The days read from their rows (not from a seal): what this report may seal. */
  fresh: Map<string, DayRead>;
  facts: EnvironmentFacts;
  now: EnvironmentNowRow[];
  drift: DriftRow[];
  exclusions: Exclusion[];
}

/** The legacy timestamp (YYYY-MM-DDTHH:MM:SSZ) or ISO time of a record, as ISO; null if unreadable. */
const isoOf = (t: string | null | undefined): string | null => {
  if (!t) return null;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
};

type Latest = ReturnType<typeof actionFromLegacy>;

/** "Fleet now" reads the latest records (read-only), all three at once; an unreadable one is excluded. */
async function readLatestRecords(source: ReportSource, exclusions: Exclusion[]) {
  const { env, store } = source;
  const excluded = (key: string) => (err: unknown) => {
    exclusions.push({ key, reason: errorMessage(err) });
    return null;
  };
  const latestKey = `${env.keyPrefix}/actions.json`;
  const [latest, lock, hold] = await Promise.all([
    store
      .getJson(latestKey, { maxBytes: MAX_RECORD_BYTES })
      .then((got): Latest | null =>
        got ? actionFromLegacy(got.json, `s3://${store.bucket}/${latestKey}`) : null,
      )
      .catch(excluded(latestKey)),
    readLock(store, `${env.keyPrefix}/lock.json`).catch(excluded(`${env.keyPrefix}/lock.json`)),
    readHold(store, env).catch(excluded(`${env.keyPrefix}/hold.json`)),
  ]);
  return { latest, lock, hold };
}

/**
 * The runs, with a sleep that began before the range: the latest record says the last change
 * was a succeeded down that has no row. Its start stands in for its end: both are before the
 * range, which clips the interval at its start anyway.
 */
function withSleepBeforeRange(
  rows: RunRow[],
  latest: Latest | null,
  range: Interval,
  env: Environment,
): RunRow[] {
  const lc = latest?.lastChange;
  if (
    !latest ||
    !lc ||
    lc.action !== 'down' ||
    lc.result !== 'succeeded' ||
    rows.some((r) => r.build === lc.build)
  )
    return [...rows];
  const before = isoOf(latest.build === lc.build ? latest.timestamp : null) ?? range.from;
  if (Date.parse(before) > Date.parse(range.from)) return [...rows];
  return [
    {
      customer: env.customer,
      environment: env.environment,
      action: 'down',
      build: lc.build,
      trigger: 'unknown',
      user: latest.user,
      startedAt: before,
      endedAt: before,
      outcome: 'succeeded',
      recordKey: `${env.keyPrefix}/history/${lc.build}/actions.json`,
    },
    ...rows,
  ];
}

/** Asleep, awake, waking or failed now: from a live lock first, else the last change. */
function stateNow(
  lock: Awaited<ReturnType<typeof readLock>> | null,
  latest: Latest | null,
  runs: readonly RunRow[],
  now: Date,
): { state: EnvironmentNow; since: string | null; detail?: string } {
  const lockInfo = lock?.info;
  const lockLive = lockInfo && Date.parse(lockInfo.expires_at ?? '') > now.getTime();
  if (lockLive && lockInfo.action === 'up') return { state: 'waking', since: isoOf(lockInfo.acquired_at) };
  if (lockLive && lockInfo.action === 'down')
    // Still running: nothing is asleep until the down has succeeded.
    return {
      state: 'awake',
      since: isoOf(lockInfo.acquired_at),
      detail: `going to sleep (build ${lockInfo.build ?? 'unknown'})`,
    };
  const lc = latest?.lastChange;
  if (!lc) return { state: 'awake', since: null };
  const row = [...runs].reverse().find((r) => r.build === lc.build);
  const since = row ? (row.endedAt ?? row.startedAt) : isoOf(latest?.timestamp);
  if (lc.result === 'failed' || (lc.result === 'running' && !lockLive))
    return {
      state: 'failed',
      since,
      detail: `${lc.action} ${lc.result === 'running' ? 'did not finish' : 'failed'} (build ${lc.build})`,
    };
  return { state: lc.action === 'down' ? 'asleep' : 'awake', since };
}

/** The facts the savings are priced from: the pre-state of the last succeeded down (1 GET). */
async function readFactsOfLastDown(source: ReportSource, runs: readonly RunRow[], exclusions: Exclusion[]) {
  const { env, store } = source;
  const none: Omit<ReturnType<typeof factsFromPreState>, 'ignored'> = {
    database: null,
    workloads: [],
    nodegroups: [],
  };
  const lastDown = [...runs].reverse().find((r) => r.action === 'down' && r.outcome === 'succeeded');
  if (!lastDown) return none;
  const preKey = `${env.keyPrefix}/history/${lastDown.build}/pre-state.json`;
  try {
    const pre = await store.getJson(preKey, { maxBytes: MAX_RECORD_BYTES });
    if (!pre) return none;
    const { ignored, ...read } = factsFromPreState(pre.json, preKey, env);
    // A bad new key loses only itself: shown and counted with the record's key.
    for (const why of ignored) exclusions.push({ key: preKey, reason: why });
    return read;
  } catch (err) {
    exclusions.push({ key: preKey, reason: errorMessage(err) });
    return none;
  }
}

async function readEnvironment(
  source: ReportSource,
  days: string[],
  range: Interval,
  now: Date,
  seals: ReadonlyMap<string, ReadonlyMap<string, SealedDay>>,
): Promise<EnvironmentRead> {
  const { env, store } = source;
  const who = { customer: env.customer, environment: env.environment };
  const [{ rows, exclusions, fresh }, latestRead] = await Promise.all([
    readIndexRows(source, days, now, seals),
    (async () => {
      const excluded: Exclusion[] = [];
      return { ...(await readLatestRecords(source, excluded)), excluded };
    })(),
  ]);
  const { latest, lock, hold } = latestRead;
  exclusions.push(...latestRead.excluded);
  const runs = withSleepBeforeRange(rows, latest, range, env);
  const { state, since, detail } = stateNow(lock, latest, runs, now);
  const nowRows: EnvironmentNowRow[] = [{ ...who, state, since, ...(detail ? { detail } : {}) }];
  const drift: DriftRow[] = [];
  if (hold && Date.parse(hold.hold.until) > now.getTime()) {
    const held = `held by ${hold.hold.user} until ${hold.hold.until}${hold.hold.reason ? `: ${hold.hold.reason}` : ''}`;
    nowRows.push({ ...who, state: 'held', since: hold.hold.created, detail: held });
    drift.push({ ...who, kind: 'on-hold', detail: held, since: hold.hold.created });
  }
  // Drift the records show (report/drift.ts); one that still stands makes it drifted now.
  const found = await readDrift({ env, store, latest, runs }, now);
  drift.push(...found.rows);
  exclusions.push(...found.exclusions);
  if (found.drifted) nowRows.push({ ...who, state: 'drifted', ...found.drifted });
  const facts = await readFactsOfLastDown(source, runs, exclusions);
  return {
    source,
    fresh,
    facts: { ...who, region: env.region, runs, ...facts },
    now: nowRows,
    drift,
    exclusions,
  };
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  // Nearest rank: an actual duration, never an interpolated one.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

const seconds = (r: RunRow) =>
  r.endedAt === null ? null : (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000;

/**
 * The report over the `days` before `now`, for the environments given. "Last night" is the
 * 24 hours before `now` (the report runs after the fleet's nightly run).
 */
export async function buildReport(input: BuildReportInput): Promise<ReportModel> {
  const { now, prices } = input;
  const days = Math.max(1, Math.floor(input.days));
  const range: Interval = {
    from: new Date(now.getTime() - days * DAY_MS).toISOString(),
    to: now.toISOString(),
  };
  // One day more than the range: the row of a down that started the day before the range
  // and ended in it.
  const dayList = daysBetween(new Date(now.getTime() - (days + 1) * DAY_MS), now);
  const requests = input.requests ?? noRequests();
  const budget = requestBudget(REQUESTS_IN_FLIGHT);
  const sources = input.environments.map((s) => ({
    env: s.env,
    store: budgetedStore(s.store, budget, requests),
  }));
  const seals = await readBucketSeals(sources, dayList, now);
  const reads = await mapBounded(sources, ENVIRONMENTS_AT_ONCE, (s) =>
    readEnvironment(s, dayList, range, now, seals.get(s.store.bucket)?.days ?? new Map()),
  );
  const sealing = await sealWhatWasListed(dayList.length, reads, seals, now);
  if (input.onIndexRead) input.onIndexRead({ ...sealing, requests });

  const inRange = (r: RunRow) => r.startedAt >= range.from && r.startedAt < range.to;
  const allRuns = reads.flatMap((e) => e.facts.runs).filter(inRange);
  const window: Interval = { from: new Date(now.getTime() - DAY_MS).toISOString(), to: now.toISOString() };
  const night = allRuns.filter(
    (r) => r.startedAt >= window.from && r.startedAt < window.to && r.action !== 'get_env_state',
  );
  const counts: Record<RunOutcome, number> = { succeeded: 0, failed: 0, refused: 0, skipped: 0 };
  for (const r of night) counts[r.outcome]++;
  const timed = night.filter((r) => r.outcome === 'succeeded' && seconds(r) !== null);
  const durations = timed.map((r) => seconds(r) as number).sort((a, b) => a - b);
  const slowest = [...timed]
    .sort((a, b) => (seconds(b) as number) - (seconds(a) as number))
    .slice(0, SLOWEST);

  const fleetRows = reads.flatMap((e) => e.now);
  const fleetCounts: Record<EnvironmentNow, number> = {
    asleep: 0,
    awake: 0,
    waking: 0,
    failed: 0,
    drifted: 0,
    held: 0,
  };
  for (const r of fleetRows) fleetCounts[r.state]++;

  const timelines: TimelineRow[] = reads.map((e) => ({
    customer: e.facts.customer,
    environment: e.facts.environment,
    asleep: sleepIntervals(e.facts.runs, range, now.toISOString()),
    runs: e.facts.runs
      .filter(inRange)
      .map((r) => ({ at: r.startedAt, action: r.action, trigger: r.trigger, outcome: r.outcome })),
  }));

  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generatedAt: now.toISOString(),
    range: { ...range, days },
    fleet: { counts: fleetCounts, environments: fleetRows },
    lastNight: {
      window,
      counts,
      p50Seconds: percentile(durations, 50),
      p95Seconds: percentile(durations, 95),
      slowest,
    },
    problems: allRuns
      .filter((r) => r.outcome === 'failed' || r.outcome === 'refused')
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt)),
    drift: reads.flatMap((e) => e.drift),
    timelines,
    savings: computeSavings(
      reads.map((e) => e.facts),
      range,
      prices,
      now.toISOString(),
    ),
    exclusions: [...[...seals.values()].flatMap((b) => b.exclusions), ...reads.flatMap((e) => e.exclusions)],
  };
}
