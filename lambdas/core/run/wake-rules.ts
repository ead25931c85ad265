// Owns the rules of wakes on demand, as pure functions of what the records say (the table in
// docs/operations.md "Wake on demand" is these functions, row for row):
// - a wake lasts while its own up is the environment's last change (or is still to be
//   recorded) and its until is ahead; any other change recorded after it (a manual down, the
//   wake's end, the TTL's down) ended it, with no write needed;
// - a SCHEDULED down during a wake skips the environment ("awake on demand until HH:MM by
//   USER"); a manual down goes ahead (and so ends the wake);
// - holds win over wakes: a wake of an environment on hold for up is refused;
// - an expired wake changes nothing: the sweep puts an environment it still keeps up to sleep,
//   and clears it.
import { describeHold, type Hold, holdActive, holdsBack, isScheduledUser } from '../records/hold.ts';
import type { Action, LastChange } from '../records/legacy-state.ts';
import { clockTime, describeWake, type Wake } from '../records/wake.ts';

/**
 * What a wake record means now, from the environment's last change:
 * - `waking`: its up is running, or not recorded yet (the last change is still the one it woke from);
 * - `awake`: its up succeeded and nothing was recorded since;
 * - `ended`: another change was recorded since (a down), or its up failed.
 * Apart from that, `expired` says whether its until has passed.
 */
export type WakePhase = 'waking' | 'awake' | 'ended';

export function wakePhase(wake: Wake, last: LastChange | null): WakePhase {
  if (last && last.build === wake.build) {
    if (last.action !== 'up' || last.result === 'failed') return 'ended';
    return last.result === 'running' ? 'waking' : 'awake';
  }
  return (last?.build ?? null) === wake.wokeFrom ? 'waking' : 'ended';
}

export const wakeExpired = (wake: Wake, now: Date) => Date.parse(wake.until) <= now.getTime();

/** Is this wake keeping the environment awake now? */
export function wakeInEffect(wake: Wake | null, last: LastChange | null, now: Date): wake is Wake {
  return wake !== null && !wakeExpired(wake, now) && wakePhase(wake, last) !== 'ended';
}

export type WakeDecision =
  /** Run the up and record the wake. */
  | { kind: 'up' }
  /** A wake is in effect: answer with it, no second up. */
  | { kind: 'existing'; wake: Wake }
  /**
   * The environment is still up from an expired wake the sweep has not put to sleep yet: a new
   * wake takes that up over (its build) with a new until, and runs no up.
   */
  | { kind: 'renew'; wake: Wake }
  /** Refused, nothing changed (a hold, or up for another reason than a wake). */
  | { kind: 'refused'; why: string };

/** `cim wake` (and later the HTTP endpoint): what a request to wake the environment does. */
export function decideWake(input: {
  now: Date;
  where: string;
  hold: Hold | null;
  wake: Wake | null;
  last: LastChange | null;
}): WakeDecision {
  const { now, where, hold, wake, last } = input;
  if (hold && holdActive(hold, now) && holdsBack(hold, now, 'up'))
    return { kind: 'refused', why: `${where} is ${describeHold(hold)}: a hold wins over a wake` };
  if (wakeInEffect(wake, last, now)) return { kind: 'existing', wake };
  if (wake && wakePhase(wake, last) === 'awake') return { kind: 'renew', wake };
  if (last?.action === 'up' && last.result !== 'failed')
    return {
      kind: 'refused',
      why: `${where} is already up (build ${last.build}${last.result === 'running' ? ', still running' : ''}), not by a wake: there is nothing to wake; to keep it up past its schedule, place a hold`,
    };
  return { kind: 'up' };
}

/**
 * Prepare: does a wake keep this run from running? Only a scheduled down during a wake in
 * effect; the message is the skip's reason. A manual down goes ahead and ends the wake.
 */
export function wakeSkips(
  request: { action: Action; user: string },
  wake: Wake | null,
  last: LastChange | null,
  now: Date,
): string | null {
  if (request.action !== 'down' || !isScheduledUser(request.user)) return null;
  return wakeInEffect(wake, last, now) ? describeWake(wake) : null;
}

/** An extension: the new until, or why not. Bounded by the maximum from now. */
export function extendedUntil(
  wake: Wake,
  byMinutes: number,
  maxMinutes: number,
  now: Date,
): { until: string } | { refused: string } {
  const until = Date.parse(wake.until) + byMinutes * 60_000;
  const limit = now.getTime() + maxMinutes * 60_000;
  if (until > limit) {
    const room = Math.floor((limit - Date.parse(wake.until)) / 60_000);
    return {
      refused: `extending the wake until ${new Date(until).toISOString()} would reach more than ${maxMinutes / 60}h from now; ${room > 0 ? `it can be extended by at most ${room}m` : 'it cannot be extended further'}`,
    };
  }
  return { until: new Date(until).toISOString() };
}

export type SweepDecision =
  /** Not expired, or its up is still running: leave it. */
  | { kind: 'keep' }
  /** Expired and still keeping the environment up: run its down, then clear it. */
  | { kind: 'down' }
  /** Expired and the environment was put down by someone else: just clear it. */
  | { kind: 'clear' };

export function sweepDecision(wake: Wake, last: LastChange | null, now: Date): SweepDecision {
  if (!wakeExpired(wake, now)) return { kind: 'keep' };
  const phase = wakePhase(wake, last);
  if (phase === 'awake') return { kind: 'down' };
  // Its own up failed and nothing was recorded since: the database may be started and some
  // workloads up, with nobody watching (a wake from the page). The down puts it to sleep; it
  // keeps the restore point of the down the wake woke from (a failed up carries it).
  if (last?.build === wake.build && last.action === 'up' && last.result === 'failed') return { kind: 'down' };
  // An up still running past its TTL: its down comes at the next sweep, after it ends.
  if (phase === 'waking' && last?.build === wake.build) return { kind: 'keep' };
  return { kind: 'clear' };
}

/**
 * The rate limits of wakes, in one place: per environment (its wakes in the window, whoever
 * placed them) and per person (their wakes of any environment in the same bucket). A wake
 * that answers with the wake in effect places nothing and counts nothing.
 */
export const WAKE_RATE_LIMITS = {
  windowMinutes: 60,
  perEnvironment: 4,
  perPerson: 10,
} as const;

/**
 * Why a new wake is refused by a limit, or null: `limit` wakes already placed in the window
 * before `now`. The next one is allowed when the oldest of those that keep the count at the
 * limit leaves the window.
 */
export function rateLimited(
  placed: readonly { at: string }[],
  now: Date,
  limit: number,
  whose: string,
  windowMinutes: number = WAKE_RATE_LIMITS.windowMinutes,
): string | null {
  const window = windowMinutes * 60_000;
  const inWindow = placed
    .map((p) => Date.parse(p.at))
    .filter((t) => t > now.getTime() - window && t <= now.getTime())
    .sort((a, b) => a - b);
  if (inWindow.length < limit) return null;
  const next = new Date((inWindow[inWindow.length - limit] ?? now.getTime()) + window).toISOString();
  const span = windowMinutes === 60 ? 'the last hour' : `the last ${windowMinutes} minutes`;
  return `rate limited: ${inWindow.length} wakes ${whose} in ${span}; next allowed at ${clockTime(next)}`;
}
