// Owns the schedule of checks in a Wait/Choice loop. The first check comes right after the
// change (no Wait before it); then checks at the usual duration divided by powers of
// RATIO (…, E/16, E/4) and at the usual duration E itself, so a resource that is about as
// fast as usual is seen on time with two or three waits; past E the waits grow with the
// overshoot (5, 5, 10, 20 … s) up to a quarter of E, then by half the overshoot, so one
// that is late is seen within a quarter of E or half its lateness. Never past the deadline.

export interface Poll {
  what: 'database' | 'deployments' | 'statefulsets' | 'autoscalers' | 'health' | 'nodegroups';
  startedAt: string;
  checks: number;
  state: string;
  stable: boolean;
  elapsedSeconds: number;
  waitSeconds: number;
}

export const MIN_WAIT_SECONDS = 5;
export const MAX_WAIT_SECONDS = 300;
/** Between two checks before the usual duration, the elapsed time grows by this factor. */
export const RATIO = 4;
/** No check point earlier than this before the usual duration: the first check already came at 0. */
export const FIRST_POINT_SECONDS = 10;

/** The check points before and at the usual duration: E/RATIO^j ≥ FIRST_POINT_SECONDS, and E. */
export function checkPoints(expected: number): number[] {
  const points = [expected];
  for (let p = expected / RATIO; p >= FIRST_POINT_SECONDS; p /= RATIO) points.unshift(p);
  return points;
}

/**
 * The wait before the next check, `elapsed` seconds after the first one: up to the next
 * check point at least MIN_WAIT_SECONDS away; past the usual duration, the overshoot so
 * far (at least MIN_WAIT_SECONDS), at most a quarter of the usual duration or half the
 * overshoot, whichever is longer, and MAX_WAIT_SECONDS; never past the deadline.
 */
export function nextWaitSeconds(elapsed: number, expected: number, timeout: number): number {
  const point = checkPoints(expected).find((p) => p - elapsed >= MIN_WAIT_SECONDS);
  const over = elapsed - expected;
  const cap = Math.min(Math.max(expected / RATIO, over / 2, MIN_WAIT_SECONDS), MAX_WAIT_SECONDS);
  const wait = point !== undefined ? point - elapsed : Math.min(Math.max(over, MIN_WAIT_SECONDS), cap);
  const left = timeout - elapsed;
  return Math.max(1, Math.ceil(Math.min(wait, left)));
}

/** Carries the start of a wait across iterations; a different `what` starts a new wait. */
export function pollStart(
  previous: Poll | undefined,
  what: Poll['what'],
  now: Date,
): { startedAt: Date; checks: number } {
  if (previous && previous.what === what)
    return { startedAt: new Date(previous.startedAt), checks: previous.checks };
  return { startedAt: now, checks: 0 };
}
