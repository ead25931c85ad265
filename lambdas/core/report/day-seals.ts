// Owns the report's day seals (issue 18, "an index that scales"): once a day can no longer
// get a row, the report that first reads it writes what it read, for all the environments of
// one state bucket, into one write-once object:
//   report/index/{YYYY-MM-DD}/{part}.json   (part: a hash of the key prefixes it covers)
// so later reports read that day with 1 LIST + 1 GET per bucket instead of 1 LIST + 1 GET per
// run per environment. Measured need (bench/report.ts): 2,000 environments × 30 days with two
// runs a night is ~192,000 requests unsealed, ~26,000 sealed (the few unsealed recent days,
// "fleet now" and the pre-states remain).
// When a day is sealed: a row is filed under the UTC day its run started and written by the
// run's last step, which ends before the environment workflow's execution timeout; a day is
// sealed only once that timeout (plus an hour) has passed since its end. `cim report
// --backfill` adds rows to old days: it deletes those days' seals (unsealDays).
// Under report/: the deployed report function may write only there (infra/iam/scope.ts), and
// the environments' functions never read it. A seal is untrusted input like any record: the
// reader bounds it and checks its shape here, and build.ts checks every row in it as it
// checks a listed row; a bad part is excluded (shown, counted) and the day is listed instead.
import { createHash } from 'node:crypto';
import { errorMessage } from '../errors.ts';
import { ENVIRONMENT_RUN_TIMEOUT_SECONDS } from '../fleet/capacity.ts';
import { PreconditionFailed, type StateStore } from '../gateways/store.ts';
import type { Exclusion } from './model.ts';

export const SEALS_PREFIX = 'report/index/';
/** After a day's end, how long until no row can be filed under it any more. */
export const SEAL_AFTER_MS = ENVIRONMENT_RUN_TIMEOUT_SECONDS * 1000 + 3_600_000;
/** A part holds ~1 KiB per environment and day: 32 MiB is far above 10,000 environments. */
export const MAX_SEAL_BYTES = 32 * 1024 * 1024;
/** Parts per day: one per distinct selection that sealed it; past this, no more are written. */
export const MAX_SEAL_PARTS = 32;
const SCHEMA = 1;
const DAY_MS = 86_400_000;

/** What a seal keeps of one environment's day: its rows (checked again on read) and content exclusions. */
export interface SealedDay {
  rows: unknown[];
  excluded: Exclusion[];
}

export const sealDayPrefix = (day: string): string => `${SEALS_PREFIX}${day}/`;

/** True when no run can file a row under `day` any more. */
export function sealable(day: string, now: Date): boolean {
  const end = Date.parse(`${day}T00:00:00.000Z`) + DAY_MS;
  return !Number.isNaN(end) && end + SEAL_AFTER_MS <= now.getTime();
}

/** The part of a day covering these key prefixes: the same selection always names the same part. */
export function sealPartKey(day: string, keyPrefixes: readonly string[]): string {
  const hash = createHash('sha256')
    .update([...keyPrefixes].sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
  return `${sealDayPrefix(day)}${hash}.json`;
}

const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** The environments of one part, or why the part cannot be used. */
export function parseSealPart(json: unknown, day: string): Map<string, SealedDay> | { reason: string } {
  const o = json as { schema?: unknown; day?: unknown; environments?: unknown } | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return { reason: 'is not a JSON object' };
  if (o.schema !== SCHEMA) return { reason: `has schema ${JSON.stringify(o.schema)}, not ${SCHEMA}` };
  if (o.day !== day)
    return { reason: `seals ${JSON.stringify(o.day)}, not the day it is filed under (${day})` };
  const envs = o.environments;
  if (!envs || typeof envs !== 'object' || Array.isArray(envs))
    return { reason: 'has no environments object' };
  const out = new Map<string, SealedDay>();
  for (const [prefix, value] of Object.entries(envs)) {
    const v = value as { rows?: unknown; excluded?: unknown } | null;
    if (!v || !Array.isArray(v.rows) || !Array.isArray(v.excluded))
      return { reason: `has no rows and excluded lists for ${JSON.stringify(prefix.slice(0, 200))}` };
    const excluded: Exclusion[] = [];
    for (const e of v.excluded as unknown[]) {
      const x = e as { key?: unknown; reason?: unknown } | null;
      if (!x || !isString(x.key, 1024) || !isString(x.reason, 2000))
        return { reason: `has a bad exclusion for ${JSON.stringify(prefix.slice(0, 200))}` };
      excluded.push({ key: x.key, reason: x.reason });
    }
    out.set(prefix, { rows: v.rows as unknown[], excluded });
  }
  return out;
}

/**
 * The sealed environments of one bucket's day (later parts never override an earlier one's
 * environment: the same runs, sealed twice), and the parts that could not be used.
 */
export async function readSeals(
  store: StateStore,
  day: string,
): Promise<{
  sealed: Map<string, SealedDay> /** Parts listed, usable or not. */;
  parts: number;
  exclusions: Exclusion[];
}> {
  const sealed = new Map<string, SealedDay>();
  const exclusions: Exclusion[] = [];
  let keys: string[];
  try {
    keys = await store.listKeys(sealDayPrefix(day), MAX_SEAL_PARTS);
  } catch (err) {
    // Not fatal: the day is listed environment by environment, as before seals.
    return {
      sealed,
      parts: 0,
      exclusions: [{ key: sealDayPrefix(day), reason: `could not be listed: ${errorMessage(err)}` }],
    };
  }
  for (const key of keys.sort()) {
    try {
      const got = await store.getJson(key, { maxBytes: MAX_SEAL_BYTES });
      if (!got) continue;
      const part = parseSealPart(got.json, day);
      if ('reason' in part) {
        exclusions.push({ key, reason: `${part.reason}; the day is read from its rows instead` });
        continue;
      }
      for (const [prefix, v] of part) if (!sealed.has(prefix)) sealed.set(prefix, v);
    } catch (err) {
      exclusions.push({ key, reason: `${errorMessage(err)}; the day is read from its rows instead` });
    }
  }
  return { sealed, parts: keys.length, exclusions };
}

export type SealWrite = 'written' | 'exists' | 'skipped' | 'refused';

/**
 * Seals a day for these environments (write-once). Never throws: a seal only saves later
 * reports' requests, so a reader without write access still gets its report ('refused'); the
 * same selection's part may exist already ('exists'); a day not yet sealable, or with
 * MAX_SEAL_PARTS parts, gets none ('skipped').
 */
export async function writeSeal(
  store: StateStore,
  day: string,
  now: Date,
  environments: ReadonlyMap<string, SealedDay>,
  partsSoFar: number,
): Promise<SealWrite> {
  if (environments.size === 0 || partsSoFar >= MAX_SEAL_PARTS || !sealable(day, now)) return 'skipped';
  const key = sealPartKey(day, [...environments.keys()]);
  const body = {
    schema: SCHEMA,
    day,
    sealedAt: now.toISOString(),
    environments: Object.fromEntries(environments),
  };
  try {
    await store.putJson(key, body, { ifNoneMatch: true, writtenBy: 'cim-report' });
    return 'written';
  } catch (err) {
    return err instanceof PreconditionFailed ? 'exists' : 'refused';
  }
}

/** Deletes the seals of these days (a backfill added rows to them). Returns how many parts went. */
export async function unsealDays(store: StateStore, days: Iterable<string>): Promise<number> {
  let deleted = 0;
  for (const day of new Set(days)) {
    for (const key of await store.listKeys(sealDayPrefix(day), MAX_SEAL_PARTS + 100)) {
      await store.deleteObject(key);
      deleted++;
    }
  }
  return deleted;
}
