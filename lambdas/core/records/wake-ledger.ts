// Owns the wake ledgers: what the rate limits of wakes on demand count (issue 19). wake.json
// holds one wake at a time and is deleted when it ends, so the wakes of the last hour are kept
// apart, in two small objects the legacy tool never reads:
// - one per environment, beside its wake.json (`{keyPrefix}/wake-ledger.json`): its wakes;
// - one per person in the environment's bucket (`wake-ledger/users/<sha256 of the user>.json`):
//   that person's wakes of every environment in that bucket (the person's limit is per bucket).
// Each entry is one wake (its build): recording it again (a retried request) changes nothing.
// Entries older than the window are dropped on every write, so a ledger stays a few entries.
// Written with If-Match (If-None-Match for the first) and read again on a conflict: concurrent
// wakes never drop each other's entry. Read back as untrusted input, bounded and checked.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames, unprintableCharacter } from '../errors.ts';
import { PreconditionFailed, type StateStore } from '../gateways/store.ts';
import { BUILD_PATTERN } from './legacy-state.ts';

export interface WakeLedgerEntry {
  /** When the wake was placed (ISO, UTC). */
  at: string;
  user: string;
  /** `customer/environment`. */
  environment: string;
  /** The wake's build: one entry per wake, however often it is recorded. */
  build: string;
}

/** How long an entry is kept: the longest window a limit counts over. */
export const LEDGER_WINDOW_MINUTES = 60;
/** Far above any limit: a ledger this long was not written by this tool. */
const MAX_ENTRIES = 500;
const MAX_LEDGER_BYTES = 128 * 1024;
const WRITE_ROUNDS = 5;

const printable = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => unprintableCharacter(s) === null, 'must not contain control or invisible characters');
const Ledger = z.looseObject({
  wakes: z
    .array(
      z.object({
        at: z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be a timestamp'),
        user: printable,
        environment: printable,
        build: z.string().regex(BUILD_PATTERN, 'must be a build id'),
      }),
    )
    .max(MAX_ENTRIES),
});

export const environmentLedgerKey = (env: Environment) => `${env.keyPrefix}/wake-ledger.json`;
/** Where the per-person ledgers are in a state bucket (IAM grants this prefix to whoever counts wakes). */
export const PERSON_LEDGER_PREFIX = 'wake-ledger/users/';
export const personLedgerKey = (user: string) =>
  `${PERSON_LEDGER_PREFIX}${createHash('sha256').update(user).digest('hex').slice(0, 32)}.json`;

/** The ledger's entries (all of them; the rules count the window), with its etag; empty when none. */
export async function readLedger(
  store: StateStore,
  key: string,
): Promise<{ wakes: WakeLedgerEntry[]; etag: string | null }> {
  const obj = await store.getJson(key, { maxBytes: MAX_LEDGER_BYTES });
  if (!obj) return { wakes: [], etag: null };
  const parsed = Ledger.safeParse(obj.json);
  if (!parsed.success) {
    throw new CimError(
      ErrorNames.StateRecordInvalid,
      `s3://${store.bucket}/${key} is not a wake ledger (${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}); delete it (it only counts the wakes of the last hour for the rate limits). Nothing was changed.`,
    );
  }
  return { wakes: parsed.data.wakes, etag: obj.etag };
}

/** Adds the entry to the ledger (once per build), dropping the entries past the window. */
export async function recordInLedger(
  store: StateStore,
  key: string,
  entry: WakeLedgerEntry,
  now: Date,
): Promise<void> {
  const since = now.getTime() - LEDGER_WINDOW_MINUTES * 60_000;
  for (let round = 0; round < WRITE_ROUNDS; round++) {
    const { wakes, etag } = await readLedger(store, key);
    if (wakes.some((w) => w.build === entry.build && w.environment === entry.environment)) return;
    const kept = wakes.filter((w) => Date.parse(w.at) > since).slice(-(MAX_ENTRIES - 1));
    try {
      await store.putJson(key, { wakes: [...kept, entry] }, etag ? { ifMatch: etag } : { ifNoneMatch: true });
      return;
    } catch (err) {
      if (!(err instanceof PreconditionFailed)) throw err;
    }
  }
  throw new CimError(
    ErrorNames.ConditionalWriteConflict,
    `s3://${store.bucket}/${key} kept changing while this wake was counted in it; try again`,
  );
}
