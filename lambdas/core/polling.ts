// Owns the adaptive wait between two polls: long waits while the resource usually is
// still busy, shorter ones as the usual duration approaches, never past the deadline.

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

/**
 * Halve the distance to the usual duration (so an 8-minute start is about 7 polls, not 32
 * at a fixed 15 s); past it, wait half the overshoot so far; clamp to [5 s, 300 s] and
 * to the time left before the deadline.
 */
export function nextWaitSeconds(elapsed: number, expected: number, timeout: number): number {
  const toExpected = expected - elapsed;
  // Past the usual duration, grow with the overshoot: starting again from the floor keeps a
  // resource that is just a little late from costing a long wait.
  let wait = toExpected > MIN_WAIT_SECONDS ? toExpected / 2 : (elapsed - expected) / 2;
  wait = Math.min(Math.max(wait, MIN_WAIT_SECONDS), MAX_WAIT_SECONDS);
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
