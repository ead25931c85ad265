import type { Deps } from '#core/contracts';
// The handler of every Task function, by function id (lambdas/core/steps.ts FUNCTIONS), and
// the one binder that maps a workflow's Task states to them for the local engine.
import {
  functionsOf,
  type TaskFunctionId,
  TaskFunctions,
  type WorkflowFunctionId,
  type WorkflowName,
} from '#core/steps';
import { handler as awaitDatabase } from './await-database.ts';
import { handler as checkAutoscalers } from './check-autoscalers.ts';
import { handler as checkDatabase } from './check-database.ts';
import { handler as checkDeployments } from './check-deployments.ts';
import { handler as checkHealth } from './check-health.ts';
import { handler as checkNodegroups } from './check-nodegroups.ts';
import { handler as checkStatefulSets } from './check-statefulsets.ts';
import { handler as fleetRecord } from './fleet-record.ts';
import { handler as fleetSelect } from './fleet-select.ts';
import { handler as guardSelect } from './guard-select.ts';
import { handler as guardStep } from './guard-step.ts';
import { handler as guardSummary } from './guard-summary.ts';
import { handler as ingresses } from './ingresses.ts';
import { handler as pauseKeda } from './pause-keda.ts';
import { handler as planDryRun } from './plan-dry-run.ts';
import { handler as prepare } from './prepare.ts';
import { handler as recordFailure } from './record-failure.ts';
import { handler as recordIntent } from './record-intent.ts';
import { handler as recordResult } from './record-result.ts';
import { handler as restoreKeda } from './restore-keda.ts';
import { handler as restoreNodegroups } from './restore-nodegroups.ts';
import { handler as restoreReplicas } from './restore-replicas.ts';
import { handler as restoreStatefulSets } from './restore-statefulsets.ts';
import { handler as resumeCronJobs } from './resume-cronjobs.ts';
import type { TaskHandler } from './runtime.ts';
import { handler as scaleDown } from './scale-down.ts';
import { handler as scaleNodegroupsDown } from './scale-nodegroups-down.ts';
import { handler as scaleStatefulSetsDown } from './scale-statefulsets-down.ts';
import { handler as startDatabase } from './start-database.ts';
import { handler as stopDatabase } from './stop-database.ts';
import { handler as suspendCronJobs } from './suspend-cronjobs.ts';
import { handler as wakeRun } from './wake-run.ts';

/** Every Task function's handler (the functions on events have their own entry points). */
export const taskHandlers: Record<WorkflowFunctionId, TaskHandler> = {
  prepare,
  'record-intent': recordIntent,
  'plan-dry-run': planDryRun,
  'scale-down': scaleDown,
  'stop-database': stopDatabase,
  'start-database': startDatabase,
  'check-database': checkDatabase,
  'await-database': awaitDatabase,
  'restore-replicas': restoreReplicas,
  'check-deployments': checkDeployments,
  'check-health': checkHealth,
  'suspend-cronjobs': suspendCronJobs,
  'scale-statefulsets-down': scaleStatefulSetsDown,
  'restore-statefulsets': restoreStatefulSets,
  'check-statefulsets': checkStatefulSets,
  'resume-cronjobs': resumeCronJobs,
  'check-autoscalers': checkAutoscalers,
  'scale-nodegroups-down': scaleNodegroupsDown,
  'restore-nodegroups': restoreNodegroups,
  'check-nodegroups': checkNodegroups,
  'pause-keda': pauseKeda,
  'restore-keda': restoreKeda,
  ingresses,
  'record-result': recordResult,
  'record-failure': recordFailure,
  'wake-run': wakeRun,
  'fleet-select': fleetSelect,
  'fleet-record': fleetRecord,
  'guard-select': guardSelect,
  'guard-step': guardStep,
  'guard-summary': guardSummary,
};

/** The environment workflow's handlers. */
export const handlers = Object.fromEntries(
  (Object.keys(TaskFunctions) as TaskFunctionId[]).map((id) => [id, taskHandlers[id]]),
) as Record<TaskFunctionId, TaskHandler>;

/**
 * Task state name -> the real handler bound to `deps`, for aws-local-stepfunctions: every
 * Task state of `workflow`, each through `wrap` when given.
 */
export function localHandlers(
  workflow: WorkflowName,
  deps: Deps,
  wrap?: (state: string, fn: (e: unknown) => Promise<unknown>) => (e: unknown) => Promise<unknown>,
) {
  const out: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [id, states] of Object.entries(functionsOf(workflow)) as [
    WorkflowFunctionId,
    readonly string[],
  ][]) {
    const fn = taskHandlers[id].withDeps(deps);
    for (const s of states) out[s] = wrap ? wrap(s, fn) : fn;
  }
  return out;
}
