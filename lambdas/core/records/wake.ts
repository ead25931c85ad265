// Owns wakes on demand (issue 19): "wake alpha/dev for two hours" outside its schedule. A
// wake is one object beside the environment's actions.json (`wake.json`; the legacy tool
// never reads it), written with a conditional write so that concurrent wakes collapse into
// one: the writer that creates it (If-None-Match, or If-Match over an ended wake it read)
// runs the up, every other one answers with the wake it finds. It says who woke it, when,
// until when (the time to live), the build of the wake's up, the build the environment woke
// from, and where the request came from (the CLI now; an HTTP endpoint later adds its
// address and user agent). Read back as untrusted input: bounded, checked, and a bad one
// refused with its key named.
import * as z from 'zod';
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames, unprintableCharacter } from '../errors.ts';
import { PreconditionFailed, type StateStore } from '../gateways/store.ts';
import { BUILD_PATTERN } from './legacy-state.ts';

export type WakeSource = 'cli' | 'http';

export interface Wake {
  /** Who woke it (a person, as the CLI names its user, or an identity provider's subject). */
  user: string;
  /** ISO timestamps (UTC). */
  created: string;
  until: string;
  /** The build of the wake's up: the wake lasts while that up is the environment's last change. */
  build: string;
  /** The build of the last change before the wake (its down), null when there was none. */
  wokeFrom: string | null;
  source: WakeSource;
  /** When until was last moved (an extension); the maximum counts from then. */
  extended?: string;
  /** HTTP wakes only (a later part): where the request came from. */
  address?: string;
  userAgent?: string;
}

/** One time to live for every wake: the default, and the most a wake (or an extension) may reach from now. */
export const DEFAULT_WAKE_MINUTES = 120;
export const MAX_WAKE_MINUTES = 12 * 60;
/** A wake record is a few hundred bytes; anything much larger was not written by this tool. */
export const MAX_WAKE_RECORD_BYTES = 16 * 1024;

const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => unprintableCharacter(s) === null, 'must not contain control or invisible characters');
const timestamp = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be a timestamp');

const StoredWake = z.looseObject({
  user: printable(128),
  created: timestamp,
  until: timestamp,
  build: z.string().regex(BUILD_PATTERN, 'must be a build id'),
  woke_from: z.string().regex(BUILD_PATTERN, 'must be a build id').nullable(),
  source: z.enum(['cli', 'http']),
  extended: timestamp.optional(),
  address: printable(64).optional(),
  user_agent: printable(512).optional(),
});

export const wakeKey = (env: Environment) => `${env.keyPrefix}/wake.json`;

const toStored = (w: Wake) => ({
  user: w.user,
  created: w.created,
  until: w.until,
  build: w.build,
  woke_from: w.wokeFrom,
  source: w.source,
  ...(w.extended !== undefined ? { extended: w.extended } : {}),
  ...(w.address !== undefined ? { address: w.address } : {}),
  ...(w.userAgent !== undefined ? { user_agent: w.userAgent } : {}),
});

/**
 * A wake's time to live as given (`90m`, `2h`): whole minutes or hours, at least a minute and
 * at most MAX_WAKE_MINUTES. Returns minutes.
 */
export function parseWakeDuration(raw: string, what = 'wake duration'): number {
  const m = /^([1-9][0-9]{0,4})([mh])$/.exec(raw.trim());
  if (!m) {
    throw new CimError(
      ErrorNames.InvalidInput,
      `${what} "${raw}" is not a duration: give whole minutes or hours such as 90m or 2h (at most ${MAX_WAKE_MINUTES / 60}h)`,
    );
  }
  const minutes = Number(m[1]) * (m[2] === 'h' ? 60 : 1);
  if (minutes > MAX_WAKE_MINUTES) {
    throw new CimError(
      ErrorNames.InvalidInput,
      `${what} "${raw}" is more than ${MAX_WAKE_MINUTES / 60}h, the longest a wake may last: a forgotten wake must not keep an environment up overnight; wake it again later, or place a hold`,
    );
  }
  return minutes;
}

function invalid(store: StateStore, key: string, why: string, env: Environment): CimError {
  return new CimError(
    ErrorNames.StateRecordInvalid,
    `s3://${store.bucket}/${key} is not a wake (${why}); restore an earlier version of it (the bucket is versioned) or delete it to wake ${env.customer}/${env.environment} again. Nothing was changed.`,
  );
}

/** The environment's wake as stored (in effect, expired or ended), or null. */
export async function readWake(
  store: StateStore,
  env: Environment,
): Promise<{ wake: Wake; etag: string } | null> {
  const key = wakeKey(env);
  const obj = await store.getJson(key, { maxBytes: MAX_WAKE_RECORD_BYTES });
  if (!obj) return null;
  const parsed = StoredWake.safeParse(obj.json);
  if (!parsed.success) {
    throw invalid(
      store,
      key,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; '),
      env,
    );
  }
  const p = parsed.data;
  const created = Date.parse(p.created);
  const until = Date.parse(p.until);
  // No wake this tool writes ends before it starts, or reaches further than the maximum from
  // when it was made or last extended: a hand-made one until 2099 would never sleep.
  if (until <= created) throw invalid(store, key, 'until is not after created', env);
  const from = p.extended === undefined ? created : Date.parse(p.extended);
  if (from < created || until - from > MAX_WAKE_MINUTES * 60_000)
    throw invalid(
      store,
      key,
      `until is more than ${MAX_WAKE_MINUTES / 60}h after it was made or extended`,
      env,
    );
  return {
    wake: {
      user: p.user,
      created: new Date(created).toISOString(),
      until: new Date(until).toISOString(),
      build: p.build,
      wokeFrom: p.woke_from,
      source: p.source,
      ...(p.extended !== undefined ? { extended: new Date(Date.parse(p.extended)).toISOString() } : {}),
      ...(p.address !== undefined ? { address: p.address } : {}),
      ...(p.user_agent !== undefined ? { userAgent: p.user_agent } : {}),
    },
    etag: obj.etag,
  };
}

/**
 * Claims the wake: a new object (If-None-Match) or over the ended one read (If-Match). Exactly
 * one of many concurrent claims wins; the others get null and answer with the winner's wake.
 */
export async function claimWake(
  store: StateStore,
  env: Environment,
  wake: Wake,
  replacing: string | null,
): Promise<{ etag: string } | null> {
  try {
    return await store.putJson(
      wakeKey(env),
      toStored(wake),
      replacing ? { ifMatch: replacing } : { ifNoneMatch: true },
    );
  } catch (err) {
    if (err instanceof PreconditionFailed) return null;
    throw err;
  }
}

/** Moves a wake's until over the one read (If-Match): an extension never silently overwrites another. */
export async function replaceWake(
  store: StateStore,
  env: Environment,
  wake: Wake,
  etag: string,
): Promise<{ etag: string }> {
  try {
    return await store.putJson(wakeKey(env), toStored(wake), { ifMatch: etag });
  } catch (err) {
    if (err instanceof PreconditionFailed) {
      throw new CimError(
        ErrorNames.ConditionalWriteConflict,
        `the wake of ${env.customer}/${env.environment} was changed by someone else meanwhile; nothing was changed, read it again`,
      );
    }
    throw err;
  }
}

/** Removes the wake read (If-Match); false when it changed meanwhile (someone else's wake now). */
export async function clearWake(store: StateStore, env: Environment, etag: string): Promise<boolean> {
  try {
    await store.deleteObject(wakeKey(env), etag);
    return true;
  } catch (err) {
    if (err instanceof PreconditionFailed) return false;
    throw err;
  }
}

/** "21:30 UTC": how a wake's end is said in messages (the configuration's time zones are per schedule). */
export const clockTime = (iso: string) => `${iso.slice(11, 16)} UTC`;

export function describeWake(wake: Wake): string {
  return `awake on demand until ${clockTime(wake.until)} by ${wake.user}`;
}
