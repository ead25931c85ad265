// Owns when an environment was asleep, measured from its runs: the facts every saving is
// computed from (savings.ts). Pure: no clock, no I/O. Times are real elapsed time in UTC, so a
// night across a daylight-saving change counts the hours that really passed (one fewer or one
// more than the local wall clock says).
import type { Interval, RunRow } from './model.ts';

const HOUR_MS = 3_600_000;

/** A change of state read from one run: asleep from `at` (a down) or awake from `at` (an up). */
interface Edge {
  at: number;
  asleep: boolean;
}

/**
 * The edge a run contributes, or null when it changed nothing:
 * - a succeeded down puts the environment to sleep when it ends (its resources are stopped
 *   only then); a failed, refused or skipped down saves nothing, and a down still running (no
 *   end) has not put anything to sleep yet;
 * - an up wakes it when it starts, whatever started it (schedule, CLI, fleet, guard) and
 *   whatever its outcome: from its start it may be starting the database, so counting on past
 *   that point would claim savings that may not exist. A refused or skipped up changes nothing
 *   (a refusal touches no resource), so the sleep goes on through it;
 * - get_env_state only reads.
 */
function edgeOf(run: RunRow): Edge | null {
  if (run.action === 'down') {
    if (run.outcome !== 'succeeded' || run.endedAt === null) return null;
    const at = Date.parse(run.endedAt);
    return Number.isNaN(at) ? null : { at, asleep: true };
  }
  if (run.action === 'up') {
    if (run.outcome === 'refused' || run.outcome === 'skipped') return null;
    const at = Date.parse(run.startedAt);
    return Number.isNaN(at) ? null : { at, asleep: false };
  }
  return null;
}

/**
 * The intervals an environment was asleep within `range` (and before `now`, when given: a
 * sleep still going on counts until the range's end or now, whichever is first).
 *
 * Runs may come in any order; they are placed on one line by the time of their edge (a down's
 * end, an up's start), which also settles odd sequences:
 * - two succeeded downs in a row: the second finds the environment asleep already; the sleep
 *   keeps its first start (an up between them would have been recorded and ended it);
 * - an up with no down before it wakes an environment that was awake: nothing to end;
 * - overlapping runs (an up started before a down ended, which the lock should prevent): the
 *   latest edge wins, so the environment counts as asleep only from the down's end;
 * - a down and an up at the same instant: the down first, leaving an empty sleep, dropped.
 * A run whose time cannot be read is left out (the index reader counts such rows).
 */
export function sleepIntervals(runs: readonly RunRow[], range: Interval, now?: string): Interval[] {
  const from = Date.parse(range.from);
  const nowMs = now === undefined ? Number.POSITIVE_INFINITY : Date.parse(now);
  const to = Math.min(Date.parse(range.to), Number.isNaN(nowMs) ? Number.POSITIVE_INFINITY : nowMs);
  if (Number.isNaN(from) || Number.isNaN(to) || to <= from) return [];

  const edges = runs
    .map(edgeOf)
    .filter((e): e is Edge => e !== null)
    .sort((a, b) => a.at - b.at || Number(b.asleep) - Number(a.asleep));

  const out: Interval[] = [];
  let asleepSince: number | null = null;
  const close = (end: number) => {
    if (asleepSince === null) return;
    const a = Math.max(asleepSince, from);
    const b = Math.min(end, to);
    if (b > a) out.push({ from: new Date(a).toISOString(), to: new Date(b).toISOString() });
    asleepSince = null;
  };
  for (const edge of edges) {
    if (edge.asleep) asleepSince ??= edge.at;
    else close(edge.at);
  }
  close(to);
  return out;
}

/** Hours in the intervals: real elapsed time, full precision (round only for display). */
export function hoursIn(intervals: readonly Interval[]): number {
  let ms = 0;
  for (const i of intervals) ms += Date.parse(i.to) - Date.parse(i.from);
  return ms / HOUR_MS;
}
