// Owns holds: "keep alpha/dev as it is until 23:00" without editing the configuration. A
// hold is one object beside the environment's actions.json (`hold.json`), written with a
// conditional write, saying who placed it, why, when, until when, and optionally which
// action only it holds back (`skip_next`). A scheduled run (user `schedule:*`) of an
// environment under an active hold is refused by Prepare as EnvironmentOnHold, which the
// fleet counts as skipped; a manual run goes ahead and says so. An expired hold is ignored.
//
// `cim hold --skip-next` writes `ends_after_skip: true`: it skips exactly the next scheduled
// run of that action and then ends. The run that skips consumes it with a conditional write
// (If-Match on the hold read) that records its build and execution (`consumed`) and moves
// `until` to that moment, so that every reader, an older one too, sees the hold ended. A
// retry of that run (same build or same execution) finds it consumed by itself and skips
// again without writing; any other run finds it ended. A hold without `ends_after_skip`
// (written before) keeps its meaning: scheduled runs of that action held back until `until`.
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
  /**
   * With skipNext: the hold skips the next scheduled run of that action only and then ends
   * (`until` stays its safety bound). False for holds written before (absent key).
   */
  endsAfterSkip?: boolean;
  /** The scheduled run that consumed an `endsAfterSkip` hold, or null while none has. */
  consumed?: HoldConsumed | null;
}

export interface HoldConsumed {
  build: string;
  executionId: string;
  /** When it was consumed (the hold's `until` from then on). */
  at: string;
  /** The `until` the hold was placed with. */
  untilBefore: string;
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
  ends_after_skip: z.boolean().optional(),
  consumed: z
    .object({ build: z.string(), execution_id: z.string(), at: z.string(), until_before: z.string() })
    .nullable()
    .optional(),
});

export const holdKey = (env: Environment) => `${env.keyPrefix}/hold.json`;

export const isScheduledUser = (user: string) => user.startsWith('schedule:');

const toStored = (h: Hold) => ({
  user: h.user,
  reason: h.reason,
  created: h.created,
  until: h.until,
  skip_next: h.skipNext,
  // Additive keys, written only when they say something: a plain hold stays as before.
  ...(h.endsAfterSkip ? { ends_after_skip: true } : {}),
  ...(h.consumed
    ? {
        consumed: {
          build: h.consumed.build,
          execution_id: h.consumed.executionId,
          at: h.consumed.at,
          until_before: h.consumed.untilBefore,
        },
      }
    : {}),
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
      ...(p.ends_after_skip ? { endsAfterSkip: true } : {}),
      ...(p.consumed
        ? {
            consumed: {
              build: p.consumed.build,
              executionId: p.consumed.execution_id,
              at: p.consumed.at,
              untilBefore: p.consumed.until_before,
            },
          }
        : {}),
    },
    etag: obj.etag,
  };
}

export const holdActive = (hold: Hold, now: Date) => Date.parse(hold.until) > now.getTime();

/** Does this hold keep a scheduled run of `action` from running now? (Not for a run that consumed it: see holdDecision.) */
export function holdsBack(hold: Hold, now: Date, action: Action): boolean {
  if (action === 'get_env_state' || !holdActive(hold, now)) return false;
  return hold.skipNext === null || hold.skipNext === action;
}

/** The run a hold is judged for: its build and execution tell a retry of the consuming run. */
export interface HeldRun {
  action: Action;
  build: string;
  executionId: string;
}

/**
 * What a hold means for a scheduled run: `skip` (held back), `consume` (held back, and this
 * run ends an `endsAfterSkip` hold by consuming it), or `none`. The run that consumed a hold
 * (same build or same execution: a retried Task, the same build run again) is held back
 * again, whatever the time, so that it never skips once and then runs.
 */
export function holdDecision(hold: Hold, now: Date, run: HeldRun): 'skip' | 'consume' | 'none' {
  if (run.action === 'get_env_state') return 'none';
  if (hold.consumed) {
    const mine = hold.consumed.build === run.build || hold.consumed.executionId === run.executionId;
    return mine && hold.skipNext === run.action ? 'skip' : 'none';
  }
  if (!holdsBack(hold, now, run.action)) return 'none';
  return hold.endsAfterSkip && hold.skipNext !== null ? 'consume' : 'skip';
}

/** The hold once `run` has consumed it: ended now, saying by which build. */
export function consumedHold(hold: Hold, now: Date, run: HeldRun): Hold {
  const at = now.toISOString();
  return {
    ...hold,
    until: at,
    consumed: { build: run.build, executionId: run.executionId, at, untilBefore: hold.until },
  };
}

/**
 * Consumes an `endsAfterSkip` hold for `run`: a write over exactly the hold read (If-Match),
 * so that of two runs only one consumes it. False when the hold changed meanwhile (read it
 * again and decide again).
 */
export async function consumeHold(
  store: StateStore,
  env: Environment,
  read: { hold: Hold; etag: string },
  run: HeldRun,
  now: Date,
): Promise<boolean> {
  try {
    await store.putJson(holdKey(env), toStored(consumedHold(read.hold, now, run)), { ifMatch: read.etag });
    return true;
  } catch (err) {
    if (err instanceof PreconditionFailed) return false;
    throw err;
  }
}

export function describeHold(hold: Hold): string {
  const scope = hold.skipNext
    ? hold.endsAfterSkip
      ? `, skipping the next scheduled ${hold.skipNext} only, then ending`
      : `, holding back scheduled ${hold.skipNext} runs only`
    : '';
  return `on hold until ${hold.until} by ${hold.user}${hold.reason ? ` (${hold.reason})` : ''}${scope}`;
}

/** A hold's one-line meaning for `cim hold --list`. */
export function holdScope(hold: Hold): string {
  if (hold.consumed)
    return `consumed by build ${hold.consumed.build} at ${hold.consumed.at} (skipped that scheduled ${hold.skipNext ?? 'run'}), ended`;
  if (hold.skipNext && hold.endsAfterSkip) return `skips the next scheduled ${hold.skipNext}, then ends`;
  if (hold.skipNext) return `scheduled ${hold.skipNext} runs only`;
  return 'scheduled up and down runs';
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
