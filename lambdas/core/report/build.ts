// Owns reading the records into the report's model (issue 18): the index rows of the days
// shown, the latest records for "fleet now" (read-only), the last down's pre-state for the
// facts the savings are priced from; then sleep.ts and savings.ts do the arithmetic.
// Never lists an environment's history: S3 requests of one report, per environment, are
//   (days + 2) LIST of {keyPrefix}/index/{day}/ (one page each: a day holds
//   a handful of runs) + 1 GET per run in range
//   + 3 GET for "fleet now" (actions.json, lock.json, hold.json)
//   + 1 GET of the last succeeded down's pre-state (facts; 0 when there is none).
// 2,000 environments × 30 days with 2 runs a night: 64,000 LIST + 120,000 GET + 8,000 GET.
// Bad input never crashes the report: an index object that is corrupted, truncated, over the
// bounds, from the future or of another environment, and a record that cannot be read, each
// become an Exclusion with its key and reason (shown on the page and counted).
import type { Environment } from '../config/schema.ts';
import { errorMessage } from '../errors.ts';
import { MAX_RECORD_BYTES, type StateStore } from '../gateways/store.ts';
import { readHold } from '../records/hold.ts';
import { actionFromLegacy } from '../records/legacy-state.ts';
import { readLock } from '../records/lock.ts';
import { stateFacts } from '../records/report-facts.ts';
import { dayOf, indexDayPrefix, MAX_INDEX_ROW_BYTES, parseRunRow } from '../records/run-index.ts';
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
import { computeSavings } from './savings.ts';
import { sleepIntervals } from './sleep.ts';

const DAY_MS = 86_400_000;
/** Rows listed per environment and day: far above a real day's runs; past it the rest is excluded. */
export const MAX_ROWS_PER_DAY = 1_000;
/** How many environments are read at once (each read is a few small requests). */
const CONCURRENCY = 16;
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

/** The index rows of one environment for the days given, with what was left out and why. */
export async function readIndexRows(
  source: ReportSource,
  days: readonly string[],
  now: Date,
): Promise<{ rows: RunRow[]; exclusions: Exclusion[] }> {
  const { env, store } = source;
  const rows: RunRow[] = [];
  const exclusions: Exclusion[] = [];
  for (const day of days) {
    const prefix = indexDayPrefix(env.keyPrefix, day);
    let keys: string[];
    try {
      keys = await store.listKeys(prefix, MAX_ROWS_PER_DAY + 1);
    } catch (err) {
      exclusions.push({ key: prefix, reason: `could not be listed: ${errorMessage(err)}` });
      continue;
    }
    if (keys.length > MAX_ROWS_PER_DAY) {
      exclusions.push({
        key: prefix,
        reason: `holds more than ${MAX_ROWS_PER_DAY} rows; the rest were not read`,
      });
      keys = keys.slice(0, MAX_ROWS_PER_DAY);
    }
    for (const key of keys) {
      const where = `s3://${store.bucket}/${key}`;
      let text: string;
      try {
        const got = await store.getJson(key, { maxBytes: MAX_INDEX_ROW_BYTES });
        if (!got) continue; // deleted between the list and the read
        text = JSON.stringify(got.json);
      } catch (err) {
        exclusions.push({ key, reason: errorMessage(err) });
        continue;
      }
      const parsed = parseRunRow(text, where);
      if ('reason' in parsed) {
        exclusions.push({ key, reason: parsed.reason });
        continue;
      }
      const row = parsed.row;
      if (row.customer !== env.customer || row.environment !== env.environment) {
        exclusions.push({
          key,
          reason: `is the row of ${row.customer}/${row.environment}, not of this environment`,
        });
        continue;
      }
      if (dayOf(row.startedAt) !== day) {
        exclusions.push({
          key,
          reason: `starts on ${dayOf(row.startedAt)}, not on the day it is filed under`,
        });
        continue;
      }
      const future = Math.max(Date.parse(row.startedAt), row.endedAt ? Date.parse(row.endedAt) : 0);
      if (future > now.getTime() + FUTURE_SKEW_MS) {
        exclusions.push({ key, reason: `is from the future (${new Date(future).toISOString()})` });
        continue;
      }
      if (row.endedAt !== null && Date.parse(row.endedAt) < Date.parse(row.startedAt)) {
        exclusions.push({ key, reason: 'ends before it starts' });
        continue;
      }
      rows.push(row);
    }
  }
  rows.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return { rows, exclusions };
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

async function readEnvironment(
  source: ReportSource,
  days: string[],
  range: Interval,
  now: Date,
): Promise<EnvironmentRead> {
  const { env, store } = source;
  const who = { customer: env.customer, environment: env.environment };
  const { rows, exclusions } = await readIndexRows(source, days, now);
  const latestKey = `${env.keyPrefix}/actions.json`;

  // Fleet now, from the latest records (read-only).
  let latest: ReturnType<typeof actionFromLegacy> | null = null;
  try {
    const got = await store.getJson(latestKey, { maxBytes: MAX_RECORD_BYTES });
    if (got) latest = actionFromLegacy(got.json, `s3://${store.bucket}/${latestKey}`);
  } catch (err) {
    exclusions.push({ key: latestKey, reason: errorMessage(err) });
  }
  const lock = await readLock(store, `${env.keyPrefix}/lock.json`).catch((err) => {
    exclusions.push({ key: `${env.keyPrefix}/lock.json`, reason: errorMessage(err) });
    return null;
  });
  const hold = await readHold(store, env).catch((err) => {
    exclusions.push({ key: `${env.keyPrefix}/hold.json`, reason: errorMessage(err) });
    return null;
  });

  // A sleep that began before the range: the latest record says the last change was a
  // succeeded down. Its start stands in for its end: both are before the range, which
  // clips the interval at its start anyway.
  const runs = [...rows];
  const lc = latest?.lastChange;
  if (
    latest &&
    lc &&
    lc.action === 'down' &&
    lc.result === 'succeeded' &&
    !rows.some((r) => r.build === lc.build)
  ) {
    const at = isoOf(latest.build === lc.build ? latest.timestamp : null);
    const before = at ?? range.from;
    if (Date.parse(before) <= Date.parse(range.from)) {
      runs.unshift({
        ...who,
        action: 'down',
        build: lc.build,
        trigger: 'unknown',
        user: latest.user,
        startedAt: before,
        endedAt: before,
        outcome: 'succeeded',
        recordKey: `${env.keyPrefix}/history/${lc.build}/actions.json`,
      });
    }
  }

  let state: EnvironmentNow = 'awake';
  let since: string | null = null;
  let detail: string | undefined;
  const lockInfo = lock?.info;
  const lockLive = lockInfo && Date.parse(lockInfo.expires_at ?? '') > now.getTime();
  if (lockLive && lockInfo.action === 'up') {
    state = 'waking';
    since = isoOf(lockInfo.acquired_at);
  } else if (lockLive && lockInfo.action === 'down') {
    // Still running: nothing is asleep until the down has succeeded.
    state = 'awake';
    since = isoOf(lockInfo.acquired_at);
    detail = `going to sleep (build ${lockInfo.build ?? 'unknown'})`;
  } else if (lc) {
    if (lc.result === 'failed' || (lc.result === 'running' && !lockLive)) {
      state = 'failed';
      detail = `${lc.action} ${lc.result === 'running' ? 'did not finish' : 'failed'} (build ${lc.build})`;
    } else state = lc.action === 'down' ? 'asleep' : 'awake';
    const row = [...runs].reverse().find((r) => r.build === lc.build);
    since = row ? (row.endedAt ?? row.startedAt) : isoOf(latest?.timestamp);
  }
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

  // Facts: the pre-state of the last succeeded down (in range, else the one before it).
  const lastDown = [...runs].reverse().find((r) => r.action === 'down' && r.outcome === 'succeeded');
  let facts: Omit<ReturnType<typeof factsFromPreState>, 'ignored'> = {
    database: null,
    workloads: [],
    nodegroups: [],
  };
  if (lastDown) {
    const preKey = `${env.keyPrefix}/history/${lastDown.build}/pre-state.json`;
    try {
      const pre = await store.getJson(preKey, { maxBytes: MAX_RECORD_BYTES });
      if (pre) {
        const { ignored, ...read } = factsFromPreState(pre.json, preKey, env);
        facts = read;
        // A bad new key loses only itself: shown and counted with the record's key.
        for (const why of ignored) exclusions.push({ key: preKey, reason: why });
      }
    } catch (err) {
      exclusions.push({ key: preKey, reason: errorMessage(err) });
    }
  }
  return {
    source,
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
  const reads = await mapBounded(input.environments, CONCURRENCY, (s) =>
    readEnvironment(s, dayList, range, now),
  );

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
    exclusions: reads.flatMap((e) => e.exclusions),
  };
}
