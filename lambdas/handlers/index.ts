// The handler of every Task state, keyed by state name: what the local engine runs.

import type { Deps } from '#core/contracts';
import {
  type FleetFunctionId,
  FleetFunctions,
  type GuardFunctionId,
  GuardFunctions,
  type TaskFunctionId,
  TaskFunctions,
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

export const handlers: Record<TaskFunctionId, TaskHandler> = {
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
  'record-result': recordResult,
  'record-failure': recordFailure,
};

/** Task state name -> the real handler bound to `deps`, for aws-local-stepfunctions. */
export function localTaskHandlers(
  deps: Deps,
  wrap?: (state: string, fn: (e: unknown) => Promise<unknown>) => (e: unknown) => Promise<unknown>,
) {
  const out: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [id, states] of Object.entries(TaskFunctions) as [TaskFunctionId, readonly string[]][]) {
    const fn = handlers[id].withDeps(deps);
    for (const s of states) out[s] = wrap ? wrap(s, fn) : fn;
  }
  return out;
}

export const fleetHandlers: Record<FleetFunctionId, TaskHandler> = {
  'fleet-select': fleetSelect,
  'fleet-record': fleetRecord,
};

/** The fleet's Lambda Tasks bound to `deps` (the child run is mapped by the fleet runner). */
export function localFleetHandlers(deps: Deps) {
  const out: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [id, states] of Object.entries(FleetFunctions) as [FleetFunctionId, readonly string[]][]) {
    const fn = fleetHandlers[id].withDeps(deps);
    for (const s of states) out[s] = fn;
  }
  return out;
}

export const guardHandlers: Record<GuardFunctionId, TaskHandler> = {
  'guard-select': guardSelect,
  'guard-step': guardStep,
  'guard-summary': guardSummary,
};

/** The guard's Lambda Tasks bound to `deps`, for the local engine. */
export function localGuardHandlers(deps: Deps) {
  const out: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [id, states] of Object.entries(GuardFunctions) as [GuardFunctionId, readonly string[]][]) {
    const fn = guardHandlers[id].withDeps(deps);
    for (const s of states) out[s] = fn;
  }
  return out;
}
