// Owns a wake on demand inside the environment workflow (issue 19): an up whose run request
// carries `wake` (run/wake-request.ts) is decided, counted and recorded by the run itself, so
// that whoever starts it (the deployed wake endpoint, with no write permission, or `cim wake`)
// only starts it. Shared with `cim wake` (the rate limits, the ledger counts):
// - Prepare decides (decideRunWake, reads only): the CLI's rules (wake-rules.ts decideWake),
//   then the rate limits; a refusal changes nothing;
// - "Record wake" claims wake.json and counts the wake in both ledgers (recordRunWake). Each
//   write is safe to repeat: a claim already there with this wake's build and time is this
//   run's own (a retried Task, or `cim wake`, which claims before it runs the up), and a
//   ledger counts an entry once per build.
import { createHash } from 'node:crypto';
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames } from '../errors.ts';
import type { StateStore } from '../gateways/store.ts';
import { holdActive, holdsBack, readHold } from '../records/hold.ts';
import type { LastChange } from '../records/legacy-state.ts';
import { claimWake, describeWake, readWake, type Wake } from '../records/wake.ts';
import {
  environmentLedgerKey,
  personLedgerKey,
  readLedger,
  recordInLedger,
  type WakeLedgerEntry,
} from '../records/wake-ledger.ts';
import type { WakeRequest } from './wake-request.ts';
import { decideWake, rateLimited, WAKE_RATE_LIMITS } from './wake-rules.ts';

/**
 * What Prepare decided for a wake's up, carried in the run context to "Record wake":
 * - `wake`: this run's up is the wake (claimed by "Record wake" after "Record intent");
 * - `renew`: the environment is still up from an expired wake: a new wake over that up, no run;
 * - `joined`: a wake is in effect: this run answers with it and changes nothing.
 */
export interface WakeRun {
  outcome: 'wake' | 'renew' | 'joined';
  /** The wake this run places (wake, renew), or the one in effect it joins (joined). */
  wake: Wake;
  /** wake.json's etag as Prepare read it: the claim replaces exactly that one (null: none there). */
  replacing: string | null;
}

/** "Schedule wake down": the wake's one-time schedule (deployed), or why there is none (local). */
export type WakeScheduled =
  | { scheduled: true; name: string; group: string; at: string }
  | { scheduled: false; why: string };

const where = (env: Pick<Environment, 'customer' | 'environment'>) => `${env.customer}/${env.environment}`;

/** Two reads of the same wake: the same build placed at the same time (a renewal keeps the build). */
const sameWake = (a: Wake, b: Wake) => a.build === b.build && a.created === b.created && a.user === b.user;

/**
 * Why the rate limits refuse a new wake of this environment by this person, or null. Entries
 * of `own` (this wake's build, counted by an earlier attempt) do not count against it.
 */
export async function wakeRateRefusal(
  store: StateStore,
  env: Environment,
  user: string,
  now: Date,
  own?: string,
): Promise<string | null> {
  const [byEnv, byPerson] = await Promise.all([
    readLedger(store, environmentLedgerKey(env)),
    readLedger(store, personLedgerKey(user)),
  ]);
  const others = (wakes: WakeLedgerEntry[]) => wakes.filter((e) => own === undefined || e.build !== own);
  return (
    rateLimited(others(byEnv.wakes), now, WAKE_RATE_LIMITS.perEnvironment, `of ${where(env)}`) ??
    rateLimited(
      others(byPerson.wakes).filter((e) => e.user === user),
      now,
      WAKE_RATE_LIMITS.perPerson,
      `by ${user}`,
    )
  );
}

/**
 * A renewal keeps its up's build: its ledger entry is named from the renewal itself (its
 * time and person), the same on every attempt, so that a retry counts it once.
 */
export const renewalEntryBuild = (w: Wake) =>
  `renew-${createHash('sha256').update(`${w.build}|${w.created}|${w.user}`).digest('hex').slice(0, 32)}`;

/** Counts the wake in the environment's ledger and the person's, once each (at its creation time). */
export async function countWake(
  store: StateStore,
  env: Environment,
  w: Wake,
  renewal: boolean,
): Promise<void> {
  const at = new Date(w.created);
  const entry = {
    at: w.created,
    user: w.user,
    environment: where(env),
    build: renewal ? renewalEntryBuild(w) : w.build,
  };
  await recordInLedger(store, environmentLedgerKey(env), entry, at);
  await recordInLedger(store, personLedgerKey(w.user), entry, at);
}

/**
 * Prepare, for an up carrying a wake: what the run does, from the hold, wake.json, the last
 * change and the ledgers (reads only). A refusal (a hold, up but not by a wake, a rate limit)
 * throws and changes nothing. wake.json already naming this run's build is this run's own
 * claim (`cim wake` claims before it runs the up): the run goes on and records it.
 */
export async function decideRunWake(
  store: StateStore,
  env: Environment,
  request: { build: string; wake: WakeRequest },
  previous: LastChange | null,
  now: Date,
): Promise<WakeRun> {
  const asked = request.wake;
  const [hold, stored] = await Promise.all([readHold(store, env), readWake(store, env)]);
  if (stored && stored.wake.build === request.build)
    return { outcome: 'wake', wake: stored.wake, replacing: stored.etag };
  const held = hold?.hold ?? null;
  const decision = decideWake({
    now,
    where: where(env),
    hold: held,
    wake: stored?.wake ?? null,
    last: previous,
  });
  if (decision.kind === 'refused') {
    const onHold = held !== null && holdActive(held, now) && holdsBack(held, now, 'up');
    throw new CimError(
      onHold ? ErrorNames.EnvironmentOnHold : ErrorNames.ActionRefused,
      `wake refused: ${decision.why}. Nothing was changed.`,
    );
  }
  if (decision.kind === 'existing')
    return { outcome: 'joined', wake: decision.wake, replacing: stored?.etag ?? null };
  const user = asked.requester.user;
  // This wake's own entry (its build, counted before the run: `cim wake`) never limits it.
  const limited = await wakeRateRefusal(store, env, user, now, request.build);
  if (limited)
    throw new CimError(
      ErrorNames.ActionRefused,
      `wake of ${where(env)} refused: ${limited}. Nothing was changed.`,
    );
  const renewing = decision.kind === 'renew' ? decision.wake : null;
  const wake: Wake = {
    user,
    created: now.toISOString(),
    until: new Date(now.getTime() + asked.minutes * 60_000).toISOString(),
    build: renewing?.build ?? request.build,
    wokeFrom: renewing ? renewing.wokeFrom : (previous?.build ?? null),
    source: asked.source,
    ...(asked.requester.address !== undefined ? { address: asked.requester.address } : {}),
    ...(asked.requester.userAgent !== undefined ? { userAgent: asked.requester.userAgent } : {}),
  };
  return { outcome: renewing ? 'renew' : 'wake', wake, replacing: stored?.etag ?? null };
}

/**
 * "Record wake": claims wake.json (If-Match over the one Prepare read, If-None-Match when there
 * was none) unless it is this run's already, then counts it in both ledgers. Another wake
 * placed meanwhile (a concurrent renewal) refuses this one: nothing of it was written.
 */
export async function recordRunWake(store: StateStore, env: Environment, run: WakeRun): Promise<Wake> {
  if (run.outcome === 'joined') return run.wake;
  const stored = await readWake(store, env);
  if (!stored || !sameWake(stored.wake, run.wake)) {
    const claimed = await claimWake(store, env, run.wake, run.replacing);
    if (!claimed) {
      const now = await readWake(store, env);
      if (!now || !sameWake(now.wake, run.wake))
        throw new CimError(
          ErrorNames.ActionRefused,
          `another wake of ${where(env)} was placed while this one was prepared (${now ? describeWake(now.wake) : 'and removed again'}); this one was not placed. Nothing of it was written.`,
        );
    }
  }
  await countWake(store, env, run.wake, run.outcome === 'renew');
  return run.wake;
}
