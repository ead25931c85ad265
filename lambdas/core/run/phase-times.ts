// Owns when each phase of a run started and ended (issue 18): the workloads, the database and
// the node groups, next to the run's own start (the context's startedAt) and end (its result
// record). Kept in the run context as a few timestamps (fixed size, inside PAYLOAD_MARGIN) and
// written in the action record as `phase_times`.
//
// Each Task that acts in a phase and returns the context marks it: started at the earliest
// such Task's start, ended at the latest one's end. The checks of a Wait loop return a poll
// (into $.poll), not the context, so the poll that saw the phase done is folded in by the next
// Task that receives it: ended at the time of that last check. Retry-safe: a retried Task
// receives the same input and sets the same keys again (the attempt that succeeded counts); a
// time is only ever moved earlier for a start and later for an end, never duplicated.
import type { Phase, PhaseTimes, RunContext } from '../contracts.ts';
import type { TaskFunctionId } from '../steps.ts';
import type { Poll } from '../waits.ts';

export type { Phase, PhaseTimes };
export const PHASES: readonly Phase[] = ['workloads', 'database', 'nodegroups'];

/** The phase each Task function acts in (the others: Prepare, the records, the dry run). */
export const PHASE_OF: Partial<Record<TaskFunctionId, Phase>> = {
  'suspend-cronjobs': 'workloads',
  'pause-keda': 'workloads',
  'scale-down': 'workloads',
  'scale-statefulsets-down': 'workloads',
  'restore-keda': 'workloads',
  'restore-statefulsets': 'workloads',
  'restore-replicas': 'workloads',
  'resume-cronjobs': 'workloads',
  ingresses: 'workloads',
  'stop-database': 'database',
  'start-database': 'database',
  'scale-nodegroups-down': 'nodegroups',
  'restore-nodegroups': 'nodegroups',
};

/** The phase each Wait loop belongs to (health and autoscalers: the workloads serving again). */
const PHASE_OF_POLL: Record<Poll['what'], Phase> = {
  deployments: 'workloads',
  statefulsets: 'workloads',
  autoscalers: 'workloads',
  health: 'workloads',
  database: 'database',
  nodegroups: 'nodegroups',
};

/** Whole seconds, as the legacy timestamps. */
const stamp = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
const earlier = (a: string | undefined, b: string) => (a !== undefined && a <= b ? a : b);
const later = (a: string | undefined, b: string) => (a !== undefined && a >= b ? a : b);

function withEnd(times: PhaseTimes, phase: Phase, at: string): PhaseTimes {
  const key = `${phase}Ended` as const;
  const next = later(times[key], at);
  return next === times[key] ? times : { ...times, [key]: next };
}

/** The context with the last Wait loop's end folded in, if that loop saw its phase done. */
export function foldPoll(ctx: RunContext): RunContext {
  const p = ctx.poll;
  if (!p?.stable) return ctx;
  const started = Date.parse(p.startedAt);
  if (!Number.isFinite(started)) return ctx;
  const at = stamp(new Date(started + p.elapsedSeconds * 1000));
  const times = withEnd(ctx.phaseTimes ?? {}, PHASE_OF_POLL[p.what], at);
  return times === ctx.phaseTimes ? ctx : { ...ctx, phaseTimes: times };
}

const isContext = (v: unknown): v is RunContext =>
  typeof v === 'object' && v !== null && 'request' in v && 'preState' in v && 'executionId' in v;

/** A Task's output with its phase marked, when it acts in one and hands the context on. */
export function markPhase(fn: string, output: unknown, started: Date, ended: Date): unknown {
  const phase = PHASE_OF[fn as TaskFunctionId];
  if (!phase || !isContext(output)) return output;
  const times = output.phaseTimes ?? {};
  return {
    ...output,
    phaseTimes: {
      ...times,
      [`${phase}Started`]: earlier(times[`${phase}Started`], stamp(started)),
      [`${phase}Ended`]: later(times[`${phase}Ended`], stamp(ended)),
    },
  };
}
