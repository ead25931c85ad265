// Owns the report's drift rows that come from the records (issue 18): where what the
// environment should be (its last change) and what a later record saw differ. The report
// never asks RDS or Kubernetes; it reads what the runs and the seven-day guard wrote:
//   - workloads changed while down: the last up's action record lists, in `skipped`, each
//     workload (deployment, StatefulSet, HPA, node group) it found changed since the down and
//     left as it was (run/plan.ts, workloads/*, nodegroups/steps.ts word it "changed while
//     down" / "changed since the down"). Read from the latest actions.json readEnvironment has
//     already (0 GET), or from history/{build}/actions.json when a recorded status came after
//     the up (1 GET).
//   - database available while asleep, when the last change is a succeeded down: the newest
//     of (a) the seven-day guard's re-stop records history/guard-{time}-{hex}/keep-stopped.json
//     (no index row: 1 LIST of that narrow prefix, never the environment's whole history) and
//     (b) a recorded status (get_env_state) after the down (its index row or the latest
//     actions.json), whose pre-state holds the database's state (1 GET of the newer one).
// Per environment: at most 1 GET and 1 LIST more than readEnvironment's own reads.
// Not visible in the records, so not shown: RDS start events (the database-event function
// only completes waits and records nothing), a database started and stopped again between two
// records, workloads changed while the environment is still down (known at the next up only),
// and a guard that did nothing (on hold, locked, already stopped: it records nothing).
// Records are untrusted: a bad one becomes an Exclusion with its key and reason.
import * as z from 'zod';
import type { Environment } from '../config/schema.ts';
import { errorMessage } from '../errors.ts';
import { MAX_RECORD_BYTES, recordKeys, type StateStore } from '../gateways/store.ts';
import {
  type ActionRecord,
  actionFromLegacy,
  type LastChange,
  lastChangeOf,
} from '../records/legacy-state.ts';
import type { DriftRow, Exclusion, RunRow } from './model.ts';

/** A guard record is a few hundred bytes; past this it is not one. */
export const MAX_GUARD_RECORD_BYTES = 16 * 1024;
/** Guard re-stops listed per environment (one a week while parked: decades of them). */
export const MAX_GUARD_RECORDS = 1_000;
/** Workloads named in one drift row; the rest are counted. */
export const DRIFT_NAMES_SHOWN = 10;

/**
 * An up's skip reason that means "changed since the down, left as it is" (the producers'
 * wording; test/unit/core/report/drift.test.ts feeds it their real reasons).
 */
export const changedWhileDown = (reason: string): boolean =>
  /changed while down|changed since the down/.test(reason);
/** A database that is none of these after a succeeded down is awake when it should sleep. */
const ASLEEP_STATES = new Set(['stopped', 'stopping']);
/** guard-YYYYMMDDTHHMMSSZ-hex (guard/guard.ts names its builds so). */
const GUARD_BUILD = /\/history\/guard-(\d{8}T\d{6})Z-[^/]+\/keep-stopped\.json$/;

export interface DriftInput {
  env: Environment;
  store: StateStore;
  /** The latest actions.json as readEnvironment parsed it (null: none or unreadable). */
  latest: ActionRecord | null;
  /** The environment's runs (index rows), oldest first. */
  runs: readonly RunRow[];
}

export interface DriftRead {
  rows: DriftRow[];
  /** Set when a row says the environment differs now (not a drift already put right). */
  drifted: { since: string | null; detail: string } | null;
  exclusions: Exclusion[];
}

const iso = (t: string | null | undefined): string | null => {
  const ms = t ? Date.parse(t) : Number.NaN;
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
};
/** 2026-12-06T18:55:00.000Z → 20261206T185500 (the guard's build names sort by it). */
const compact = (isoTime: string) => isoTime.replace(/[-:]/g, '').slice(0, 15);
/** 20261206T185500 → 2026-12-06T18:55:00.000Z */
const guardTime = (c: string) =>
  iso(
    `${c.slice(0, 4)}-${c.slice(4, 6)}-${c.slice(6, 8)}T${c.slice(9, 11)}:${c.slice(11, 13)}:${c.slice(13, 15)}Z`,
  );
const commonPrefix = (a: string, b: string) => {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, i);
};

/** The drift rows of one environment, from the records its last change points at. */
export async function readDrift(input: DriftInput, now: Date): Promise<DriftRead> {
  const out: DriftRead = { rows: [], drifted: null, exclusions: [] };
  const lc = input.latest ? lastChangeOf(input.latest) : null;
  if (lc?.action === 'up') await workloadsDrift(input, lc, out);
  if (lc?.action === 'down' && lc.result === 'succeeded') await databaseDrift(input, lc, now, out);
  const standing = out.rows.find((r) => !r.resolvedAt);
  if (standing)
    out.drifted = {
      since: standing.since,
      detail:
        standing.kind === 'database-available-while-asleep'
          ? 'database not stopped while asleep'
          : 'workloads changed while down',
    };
  return out;
}

async function workloadsDrift(input: DriftInput, lc: LastChange, out: DriftRead): Promise<void> {
  const { env, store, latest } = input;
  const key = recordKeys(env, lc.build).historyActions;
  let rec: ActionRecord | null = latest && latest.build === lc.build ? latest : null;
  if (!rec) {
    try {
      const got = await store.getJson(key, { maxBytes: MAX_RECORD_BYTES });
      if (!got) return; // the up's record is gone: nothing to say about it
      rec = actionFromLegacy(got.json, `s3://${store.bucket}/${key}`);
    } catch (err) {
      out.exclusions.push({ key, reason: errorMessage(err) });
      return;
    }
  }
  const changed = (rec.skipped ?? []).filter((s) => changedWhileDown(s.reason));
  if (changed.length === 0) return;
  const row = input.runs.findLast((r) => r.build === lc.build);
  const names = changed.slice(0, DRIFT_NAMES_SHOWN).map((s) => `${s.deployment}: ${s.reason}`);
  const more = changed.length - names.length;
  out.rows.push({
    customer: env.customer,
    environment: env.environment,
    kind: 'workloads-changed-while-down',
    detail: `up build ${lc.build} found ${changed.length} workload(s) changed while the environment was down and left them as they were: ${names.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
    since: row ? (row.endedAt ?? row.startedAt) : iso(rec.timestamp),
    recordKey: key,
  });
}

/** A database the seven-day guard found awake while the environment was parked (guard/guard.ts). */
const GuardRecord = z.looseObject({
  timestamp: z.string(),
  desired_state: z.literal('keep_stopped'),
  result: z.enum(['succeeded', 'failed']),
  kept_down_since_build: z.string().nullable(),
  aws_rds: z.looseObject({
    rds_identifier: z.string(),
    state_before: z.string().nullable(),
    state_after: z.string().nullable(),
    stop_issued: z.boolean(),
  }),
  error: z.looseObject({ name: z.string(), message: z.string() }).optional(),
});

/** A pre-state's database, as much as this needs (records/legacy-state.ts has the whole shape). */
const StatusDatabase = z.looseObject({
  timestamp: z.string(),
  aws_rds: z.looseObject({
    rds_identifier: z.string(),
    rds_exists: z.boolean(),
    rds_state: z.string().nullable(),
  }),
});

const parseError = (err: z.ZodError) =>
  `is not a valid record (${err.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')})`;

async function databaseDrift(input: DriftInput, lc: LastChange, now: Date, out: DriftRead): Promise<void> {
  const { env, store, latest, runs } = input;
  const down = runs.findLast((r) => r.build === lc.build);
  const downAt =
    iso(down ? (down.endedAt ?? down.startedAt) : null) ??
    iso(latest && latest.build === lc.build ? latest.timestamp : null);
  if (!downAt) return; // when the sleep began is unknown: later records cannot be told apart
  const who = { customer: env.customer, environment: env.environment };

  // (a) The guard's re-stops since the down: their build names carry their time.
  const history = recordKeys(env, '_').historyPrefix;
  const prefix = `${history}guard-${commonPrefix(compact(downAt), compact(now.toISOString()))}`;
  let guards: { key: string; at: string }[] = [];
  try {
    const keys = await store.listKeys(prefix, MAX_GUARD_RECORDS + 1);
    if (keys.length > MAX_GUARD_RECORDS)
      out.exclusions.push({
        key: prefix,
        reason: `holds more than ${MAX_GUARD_RECORDS} guard records; the newest may be missed`,
      });
    const after = compact(downAt);
    guards = keys
      .map((key) => ({ key, at: GUARD_BUILD.exec(key)?.[1] ?? '' }))
      .filter((g) => g.at !== '' && g.at >= after)
      .sort((a, b) => a.at.localeCompare(b.at));
  } catch (err) {
    out.exclusions.push({ key: prefix, reason: `could not be listed: ${errorMessage(err)}` });
  }

  // (b) The newest recorded status after the down: its index row, or the latest record.
  const statuses = [
    ...runs
      .filter((r) => r.action === 'get_env_state' && r.outcome === 'succeeded')
      .map((r) => ({ build: r.build, at: r.startedAt })),
    ...(latest?.action === 'get_env_state' && iso(latest.timestamp)
      ? [{ build: latest.build, at: iso(latest.timestamp) as string }]
      : []),
  ].filter((s) => s.at >= downAt && s.build !== lc.build);
  const status = statuses.sort((a, b) => a.at.localeCompare(b.at)).at(-1) ?? null;

  // Only the newest of the two is read: it says what the database was last seen doing.
  const guard = guards.at(-1);
  const guardAt = guard ? guardTime(guard.at) : null;
  if (guard && (!status || (guardAt ?? '') >= status.at)) {
    const got = await readBounded(store, guard.key, MAX_GUARD_RECORD_BYTES, out);
    if (!got) return;
    const p = GuardRecord.safeParse(got);
    if (!p.success) {
      out.exclusions.push({ key: guard.key, reason: parseError(p.error) });
      return;
    }
    const g = p.data;
    if (g.kept_down_since_build !== null && g.kept_down_since_build !== lc.build) return; // another sleep
    const db = `database '${g.aws_rds.rds_identifier}'`;
    const times = guards.length > 1 ? ` (${guards.length} re-stops since the down, this is the last)` : '';
    const at = iso(g.timestamp) ?? guardAt;
    if (g.result === 'failed') {
      out.rows.push({
        ...who,
        kind: 'database-available-while-asleep',
        detail: `the seven-day guard found ${db} ${g.aws_rds.state_before ?? 'not stopped'} while the environment is down (since build ${lc.build}) and could not stop it${g.error ? `: ${g.error.name}: ${g.error.message.slice(0, 300)}` : ''}${times}`,
        since: at,
        recordKey: guard.key,
      });
    } else if (
      g.aws_rds.stop_issued ||
      (g.aws_rds.state_before !== null && g.aws_rds.state_before !== 'stopped')
    ) {
      out.rows.push({
        ...who,
        kind: 'database-available-while-asleep',
        detail: `${db} was ${g.aws_rds.state_before ?? 'started'} while the environment was down (since build ${lc.build}): started by AWS's 7-day restart or by hand; the seven-day guard stopped it again${times}`,
        since: at,
        recordKey: guard.key,
        ...(at ? { resolvedAt: at } : {}),
      });
    }
    return;
  }
  if (status) {
    const key = recordKeys(env, status.build).preState;
    const got = await readBounded(store, key, MAX_RECORD_BYTES, out);
    if (!got) return;
    const p = StatusDatabase.safeParse(got);
    if (!p.success) {
      out.exclusions.push({ key, reason: parseError(p.error) });
      return;
    }
    const rds = p.data.aws_rds;
    const seenAt = iso(p.data.timestamp) ?? status.at;
    if (rds.rds_exists && rds.rds_state !== null && ASLEEP_STATES.has(rds.rds_state) && guard) {
      // The guard records only what it acted on: each of its records since the down is a
      // database found not stopped. The later status saw it stopped: put right, unread.
      out.rows.push({
        ...who,
        kind: 'database-available-while-asleep',
        detail: `the seven-day guard found database '${rds.rds_identifier}' not stopped while the environment was down (since build ${lc.build}) and acted ${guards.length} time(s); a later recorded status (build ${status.build}) found it ${rds.rds_state}`,
        since: guardAt,
        recordKey: guard.key,
        resolvedAt: seenAt,
      });
      return;
    }
    if (!rds.rds_exists || rds.rds_state === null || ASLEEP_STATES.has(rds.rds_state)) return;
    out.rows.push({
      ...who,
      kind: 'database-available-while-asleep',
      detail: `a recorded status (build ${status.build}) found database '${rds.rds_identifier}' ${rds.rds_state} while the environment is down (since build ${lc.build}): started by AWS's 7-day restart or by hand, and no later record shows it stopped`,
      since: seenAt,
      recordKey: key,
    });
  }
}

/** One bounded read; a failure is an exclusion, a missing object null. */
async function readBounded(
  store: StateStore,
  key: string,
  maxBytes: number,
  out: DriftRead,
): Promise<unknown | null> {
  try {
    const got = await store.getJson(key, { maxBytes });
    return got ? got.json : null;
  } catch (err) {
    out.exclusions.push({ key, reason: errorMessage(err) });
    return null;
  }
}
