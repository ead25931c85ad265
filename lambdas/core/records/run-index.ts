// Owns the run index (issue 18): one small write-once summary (a RunRow) per run, under a
// date-partitioned prefix of the environment's key prefix, so a report over N days reads N
// days of summaries and never lists the environment's history:
//   {keyPrefix}/index/{YYYY-MM-DD}/{build}-{action}.json
// (the UTC day the run started). Under the environment's own key prefix, not at the bucket's
// root: the functions' S3 access is scoped to the key prefixes (docs/deploying.md), so the
// index needs no new grant, and legacy readers never list `index/`. Written with If-None-Match: * by the run's final record step;
// a retried Task finds its own object (same execution) and goes on. Reading it back is
// report/build.ts's business; this module knows the key and the row's shape.

import type { Environment } from '../config/schema.ts';
import { ErrorNames, errorMessage, REFUSAL_ERRORS } from '../errors.ts';
import { PreconditionFailed, parseRecord, putOnce, recordKeys, type StateStore } from '../gateways/store.ts';
import type { RunAction, RunOutcome, RunRow, Trigger } from '../report/model.ts';
import { readActionRecord } from './actions.ts';

export const INDEX_FOLDER = 'index';
/** A row is a few hundred bytes (its reason at most 500 characters): anything past this is not one. */
export const MAX_INDEX_ROW_BYTES = 8 * 1024;
export const MAX_REASON_CHARS = 500;

const TRIGGERS: readonly Trigger[] = ['schedule', 'cli', 'fleet', 'guard', 'wake', 'unknown'];
const ACTIONS: readonly RunAction[] = ['up', 'down', 'get_env_state'];
const OUTCOMES: readonly RunOutcome[] = ['succeeded', 'failed', 'refused', 'skipped'];

/** The UTC day (YYYY-MM-DD) of an ISO time. */
export const dayOf = (iso: string): string => new Date(iso).toISOString().slice(0, 10);

/** The prefix of one environment's rows of one day: the only thing a report lists. */
export const indexDayPrefix = (keyPrefix: string, day: string): string =>
  `${keyPrefix}/${INDEX_FOLDER}/${day}/`;

export const indexKey = (keyPrefix: string, row: Pick<RunRow, 'startedAt' | 'build' | 'action'>) =>
  `${indexDayPrefix(keyPrefix, dayOf(row.startedAt))}${row.build}-${row.action}.json`;

/**
 * How a run was started, when its record does not say (records before R3's `trigger`, and the
 * legacy tool's), as R3's run/trigger.ts derives it: the scheduler and the guard run as
 * `schedule:<name>` and `guard[:why]`; a fleet child carries its parent execution; anyone else is
 * a person at the CLI.
 */
export function deriveTrigger(request: {
  user?: string | null;
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID?: string | undefined;
}): Trigger {
  // A schedule's fleet passes `schedule:<name>` to every child: the schedule started it.
  const user = request.user ?? '';
  if (user.startsWith('schedule:')) return 'schedule';
  if (user === 'guard' || user.startsWith('guard:')) return 'guard';
  if (user.startsWith('wake:')) return 'wake';
  if (request.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID) return 'fleet';
  return user ? 'cli' : 'unknown';
}

/** The trigger an action record states (additive key `trigger`), or null when it states none. */
export function recordedTrigger(record: unknown): Trigger | null {
  const t = (record as { trigger?: unknown } | null)?.trigger;
  if (typeof t === 'string' && (TRIGGERS as readonly string[]).includes(t)) return t as Trigger;
  // R3 may record it as an object ({ kind, ... }): take its kind.
  const kind = (t as { kind?: unknown } | null | undefined)?.kind;
  if (typeof kind === 'string' && (TRIGGERS as readonly string[]).includes(kind)) return kind as Trigger;
  return null;
}

/** A failure's outcome: a refusal (or a hold's skip) changed nothing and is not a failure. */
export function outcomeOfError(name: string | undefined): RunOutcome {
  if (name === ErrorNames.EnvironmentOnHold) return 'skipped';
  if (name && (REFUSAL_ERRORS as readonly string[]).includes(name)) return 'refused';
  return 'failed';
}

/** A printable reason of at most MAX_REASON_CHARS characters (control characters dropped). */
export function printableReason(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: dropping them is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS - 1)}…` : clean;
}

/**
 * Writes the run's row once. Never throws: the index serves the report, and a run whose
 * changes are done must not fail for it (the row is then missing: `cim report --backfill`
 * rebuilds it from the history record). One PUT per run (a GET more on a retry).
 */
export async function writeRunIndex(
  store: StateStore,
  keyPrefix: string,
  row: RunRow,
  executionId: string,
  warn: (message: string, extra?: Record<string, unknown>) => void,
): Promise<string | null> {
  const key = indexKey(keyPrefix, row);
  try {
    await putOnce(store, key, row, executionId);
    return key;
  } catch (err) {
    warn('could not write the run index row', { key, error: errorMessage(err) });
    return null;
  }
}

const isIso = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;

/**
 * Parses one index object's text into a RunRow, or says why it is not one (the caller shows
 * and counts it as an exclusion). Bounds first (size, depth), then every field.
 */
export function parseRunRow(text: string, where: string): { row: RunRow } | { reason: string } {
  let json: unknown;
  try {
    json = parseRecord(text, where, MAX_INDEX_ROW_BYTES);
  } catch (err) {
    return { reason: errorMessage(err) };
  }
  const o = json as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return { reason: 'is not a JSON object' };
  const bad = (field: string) => ({ reason: `has no valid ${field}` });
  if (!isName(o.customer)) return bad('customer');
  if (!isName(o.environment)) return bad('environment');
  if (!isName(o.build)) return bad('build');
  if (!isName(o.recordKey)) return bad('recordKey');
  if (typeof o.action !== 'string' || !(ACTIONS as readonly string[]).includes(o.action))
    return bad('action');
  if (typeof o.outcome !== 'string' || !(OUTCOMES as readonly string[]).includes(o.outcome))
    return bad('outcome');
  if (!isIso(o.startedAt)) return bad('startedAt');
  if (o.endedAt !== null && !isIso(o.endedAt)) return bad('endedAt');
  const trigger =
    typeof o.trigger === 'string' && (TRIGGERS as readonly string[]).includes(o.trigger)
      ? (o.trigger as Trigger)
      : 'unknown';
  return {
    row: {
      customer: o.customer,
      environment: o.environment,
      action: o.action as RunAction,
      build: o.build,
      trigger,
      user: typeof o.user === 'string' ? o.user.slice(0, 256) : '',
      startedAt: new Date(o.startedAt).toISOString(),
      endedAt: o.endedAt === null ? null : new Date(o.endedAt as string).toISOString(),
      outcome: o.outcome as RunOutcome,
      ...(typeof o.reason === 'string' ? { reason: printableReason(o.reason) } : {}),
      recordKey: o.recordKey,
    },
  };
}

export interface BackfillResult {
  written: number;
  /** The UTC days rows were written under: their report seals are out of date (day-seals.ts). */
  days: string[];
  /** Rows already in the index (written by the run, or by an earlier backfill): left alone. */
  existing: number;
  /** Builds with no row to make (a run still running, a status), or whose record is unreadable. */
  skipped: { key: string; reason: string }[];
}

const BACKFILL_WRITER = 'cim-report-backfill';

/**
 * Indexes an environment's older history once: each history/{build}/actions.json becomes a
 * row (legacy records have no result: the legacy tool wrote only runs that succeeded). Its end
 * is the post-state's timestamp when there is one, else its start. Idempotent: a row already
 * in the index is left alone (If-None-Match: *). Lists the whole history: this is the one-off
 * migration, never what a report does. S3 requests: 1 LIST per 1,000 keys + per build 1-2 GET
 * and 1 PUT.
 */
export async function backfillRunIndex(store: StateStore, env: Environment): Promise<BackfillResult> {
  const keys = recordKeys(env, '_');
  const files = new Set(await store.listKeys(keys.historyPrefix, 1_000_000));
  const out: BackfillResult = { written: 0, days: [], existing: 0, skipped: [] };
  for (const file of [...files].sort()) {
    if (!file.endsWith('/actions.json')) continue;
    const build = file.slice(keys.historyPrefix.length, -'/actions.json'.length);
    if (build.includes('/')) continue;
    let row: RunRow;
    try {
      const got = await store.getJson(file);
      if (!got) continue;
      const rec = readActionRecord(got.json, file, env);
      if (rec.action === 'get_env_state' || rec.result === 'running') {
        out.skipped.push({
          key: file,
          reason: `a ${rec.result === 'running' ? 'run that did not finish' : 'status'}: no row`,
        });
        continue;
      }
      const startedAt = new Date(Date.parse(rec.timestamp)).toISOString();
      let endedAt = startedAt;
      const postKey = recordKeys(env, build).postState;
      if (files.has(postKey)) {
        const ts = (await store.getJson(postKey).catch(() => null))?.json as
          | { timestamp?: unknown }
          | undefined;
        const ms = typeof ts?.timestamp === 'string' ? Date.parse(ts.timestamp) : Number.NaN;
        if (!Number.isNaN(ms) && ms >= Date.parse(startedAt)) endedAt = new Date(ms).toISOString();
      }
      const failed = rec.result === 'failed' || rec.result === 'interrupted';
      row = {
        customer: env.customer,
        environment: env.environment,
        action: rec.action,
        build: rec.build,
        trigger: recordedTrigger(got.json) ?? deriveTrigger({ user: rec.user }),
        user: rec.user,
        startedAt,
        endedAt,
        outcome: failed ? outcomeOfError(rec.error?.name) : 'succeeded',
        ...(failed && rec.error
          ? { reason: printableReason(`${rec.error.name}: ${rec.error.message}`) }
          : {}),
        recordKey: file,
      };
    } catch (err) {
      out.skipped.push({ key: file, reason: errorMessage(err) });
      continue;
    }
    try {
      await store.putJson(indexKey(env.keyPrefix, row), row, {
        ifNoneMatch: true,
        writtenBy: BACKFILL_WRITER,
      });
      out.written++;
      if (!out.days.includes(dayOf(row.startedAt))) out.days.push(dayOf(row.startedAt));
    } catch (err) {
      if (!(err instanceof PreconditionFailed)) throw err;
      out.existing++;
    }
  }
  return out;
}
