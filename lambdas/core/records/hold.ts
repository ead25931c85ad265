// Owns holds: "keep alpha/dev as it is until 23:00" without editing the configuration. A
// hold is one object beside the environment's actions.json (`hold.json`), written with a
// conditional write, saying who placed it, why, when, until when, and optionally which
// action only it holds back (`skip_next`). A scheduled run (user `schedule:*`) of an
// environment under an active hold is refused by Prepare as EnvironmentOnHold, which the
// fleet counts as skipped; a manual run goes ahead and says so. An expired hold is ignored.
import * as z from 'zod';
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames, unprintableCharacter } from '../errors.ts';
import { PreconditionFailed, type StateStore } from '../gateways/store.ts';
import type { Action } from './legacy-state.ts';

export interface Hold {
  user: string;
  reason: string | null;
  /** ISO timestamps (UTC). */
  created: string;
  until: string;
  /** Only scheduled runs of this action are held back; null: every scheduled up and down. */
  skipNext: 'down' | 'up' | null;
}

/** The longest hold: a forgotten one must not keep an environment up (or down) for months. */
export const MAX_HOLD_DAYS = 31;
export const MAX_REASON_LENGTH = 200;

const StoredHold = z.looseObject({
  user: z.string(),
  reason: z.string().nullable(),
  created: z.string(),
  until: z.string().refine((s) => Number.isFinite(Date.parse(s)), 'until must be a timestamp'),
  skip_next: z.enum(['down', 'up']).nullable(),
});

export const holdKey = (env: Environment) => `${env.keyPrefix}/hold.json`;

export const isScheduledUser = (user: string) => user.startsWith('schedule:');

const toStored = (h: Hold) => ({
  user: h.user,
  reason: h.reason,
  created: h.created,
  until: h.until,
  skip_next: h.skipNext,
});

/**
 * `--until`: an ISO 8601 time with its offset (2026-11-26T23:00:00+01:00, ...Z) or a
 * duration from now (+90m, +4h, +2d). In the future and at most MAX_HOLD_DAYS ahead.
 */
export function parseUntil(raw: string, now: Date): Date {
  const rel = /^\+([1-9][0-9]{0,4})([mhd])$/.exec(raw.trim());
  let t: number;
  if (rel) {
    const unit = { m: 60, h: 3600, d: 86_400 }[rel[2] as 'm' | 'h' | 'd'];
    t = now.getTime() + Number(rel[1]) * unit * 1000;
  } else if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(raw.trim())) {
    // Date.parse rolls a day that does not exist over (April 31 becomes May 1): refuse it.
    const [, y = '', mo = '', d = '', h = '', mi = '', sec = '0'] =
      /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?/.exec(raw.trim()) ?? [];
    const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    const exists =
      day.getUTCFullYear() === Number(y) &&
      day.getUTCMonth() === Number(mo) - 1 &&
      day.getUTCDate() === Number(d);
    if (!exists || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59)
      throw new CimError(
        ErrorNames.InvalidInput,
        `hold until "${raw}" is not a time: it names a ${exists ? 'time' : 'date'} that does not exist (${exists ? 'hours 00-23, minutes and seconds 00-59' : `${y}-${mo} has no day ${d}`}); give an ISO time such as 2026-11-26T23:00:00+01:00`,
      );
    t = Date.parse(raw.trim());
  } else {
    t = Number.NaN;
  }
  if (!Number.isFinite(t)) {
    throw new CimError(
      ErrorNames.InvalidInput,
      `hold until "${raw}" is not a time: give an ISO time with its offset (2026-11-26T23:00:00+01:00 or ...Z) or a duration from now (+90m, +4h, +2d)`,
    );
  }
  if (t <= now.getTime()) {
    throw new CimError(
      ErrorNames.InvalidInput,
      `hold until "${raw}" (${new Date(t).toISOString()}) is not in the future (now ${now.toISOString()})`,
    );
  }
  if (t - now.getTime() > MAX_HOLD_DAYS * 86_400_000) {
    throw new CimError(
      ErrorNames.InvalidInput,
      `hold until "${raw}" is more than ${MAX_HOLD_DAYS} days ahead; place a shorter hold (and renew it), or change the schedule in the configuration`,
    );
  }
  return new Date(t);
}

export function checkReason(reason: string | undefined): string | null {
  if (reason === undefined) return null;
  const r = reason.trim();
  const bad = unprintableCharacter(r);
  if (!r || r.length > MAX_REASON_LENGTH || bad) {
    throw new CimError(
      ErrorNames.InvalidInput,
      `hold reason must be 1-${MAX_REASON_LENGTH} characters without control, bidirectional or invisible characters${bad ? ` (it contains ${bad})` : ''}`,
    );
  }
  return r;
}

/** The environment's hold as stored (active or expired), or null. */
export async function readHold(
  store: StateStore,
  env: Environment,
): Promise<{ hold: Hold; etag: string } | null> {
  const key = holdKey(env);
  const obj = await store.getJson(key);
  if (!obj) return null;
  const parsed = StoredHold.safeParse(obj.json);
  if (!parsed.success) {
    throw new CimError(
      ErrorNames.StateRecordInvalid,
      `s3://${store.bucket}/${key} is not a hold (${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}); clear it with cim hold --clear --select ${env.customer}/${env.environment}. Nothing was changed.`,
    );
  }
  const p = parsed.data;
  return {
    hold: {
      user: p.user,
      reason: p.reason,
      created: p.created,
      until: new Date(Date.parse(p.until)).toISOString(),
      skipNext: p.skip_next,
    },
    etag: obj.etag,
  };
}

export const holdActive = (hold: Hold, now: Date) => Date.parse(hold.until) > now.getTime();

/** Does this hold keep a scheduled run of `action` from running now? */
export function holdsBack(hold: Hold, now: Date, action: Action): boolean {
  if (action === 'get_env_state' || !holdActive(hold, now)) return false;
  return hold.skipNext === null || hold.skipNext === action;
}

export function describeHold(hold: Hold): string {
  return `on hold until ${hold.until} by ${hold.user}${hold.reason ? ` (${hold.reason})` : ''}${hold.skipNext ? `, holding back scheduled ${hold.skipNext} runs only` : ''}`;
}

/** What placing a hold over an environment will replace: read before anything is written. */
export interface HoldPlan {
  existing: Hold | null;
  /** The stored object's etag (a readable hold or an unreadable one), or null when there is none. */
  etag: string | null;
}

/** Reads what a hold would replace; any error here comes before the first write. */
export async function planHold(store: StateStore, env: Environment): Promise<HoldPlan> {
  const existing = await readHold(store, env).catch((err) => {
    // An unreadable hold is replaced: that is the way out of it.
    if ((err as Error).name === ErrorNames.StateRecordInvalid) return null;
    throw err;
  });
  if (existing) return { existing: existing.hold, etag: existing.etag };
  const raw = await store.getJson(holdKey(env)).catch((err) => {
    if ((err as Error).name === ErrorNames.StateRecordInvalid) return { etag: null };
    throw err;
  });
  return { existing: null, etag: raw?.etag ?? null };
}

/** Undoes a hold this command just wrote (a later environment failed): all or nothing. */
export async function undoHold(store: StateStore, env: Environment, plan: HoldPlan, etag: string) {
  if (plan.existing) await store.putJson(holdKey(env), toStored(plan.existing), { ifMatch: etag });
  else await store.deleteObject(holdKey(env), etag);
}

/**
 * Places a hold: a new object (If-None-Match), or over the one read (If-Match) so that two
 * people placing holds at once do not silently overwrite each other.
 */
export async function placeHold(
  store: StateStore,
  env: Environment,
  hold: Hold,
  given?: HoldPlan,
): Promise<{ replaced: Hold | null; etag: string }> {
  const key = holdKey(env);
  const plan = given ?? (await planHold(store, env));
  try {
    const { etag } = await store.putJson(
      key,
      toStored(hold),
      plan.etag ? { ifMatch: plan.etag } : { ifNoneMatch: true },
    );
    return { replaced: plan.existing, etag };
  } catch (err) {
    if (err instanceof PreconditionFailed) {
      throw new CimError(
        ErrorNames.ConditionalWriteConflict,
        `the hold of ${env.customer}/${env.environment} was changed by someone else meanwhile`,
        { fix: 'reread-hold' },
      );
    }
    throw err;
  }
}

/** Removes the hold, only the one read (If-Match). */
export async function clearHold(store: StateStore, env: Environment): Promise<{ cleared: Hold | null }> {
  const key = holdKey(env);
  const obj = await store.getJson(key);
  if (!obj) return { cleared: null };
  const existing = await readHold(store, env).catch(() => null);
  try {
    await store.deleteObject(key, obj.etag);
  } catch (err) {
    if (err instanceof PreconditionFailed) {
      throw new CimError(
        ErrorNames.ConditionalWriteConflict,
        `the hold of ${env.customer}/${env.environment} was changed by someone else meanwhile`,
        { fix: 'reread-hold' },
      );
    }
    throw err;
  }
  return { cleared: existing?.hold ?? null };
}
