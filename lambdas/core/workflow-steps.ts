// The workflow's steps in one import for handlers, the CLI and tests. Each concern lives in
// its own module: contracts (run-context), prepare and preflight (prepare), the dry-run plan
// (plan), changes (changes), polls (polls), records and their transitions (recording).

export {
  BUILD_PATTERN,
  type Deps,
  envOf,
  generateBuildId,
  type Logger,
  parseContext,
  parseRequest,
  type RunContext,
  RunRequest,
  type ScaleChange,
  type Skip,
  type WorkloadChange,
  writes,
} from './contracts.ts';
export { checkNodegroups, restoreNodegroups, scaleNodegroupsDown } from './nodegroups/steps.ts';
export { findLastChange } from './records/actions.ts';
export { databaseAction, restoreReplicas, scaleDown } from './run/changes.ts';
export { fence } from './run/fence.ts';
export { type DryRunPlan, type PlannedChange, planDryRun, restoreDecision } from './run/plan.ts';
export { checkDatabase, checkDeployments, checkHealth } from './run/polls.ts';
export { prepare } from './run/prepare.ts';
export {
  causeMessage,
  compactSummary,
  expandSummary,
  nextLastChange,
  OUTPUT_LIST_LIMIT,
  type RunOutput,
  type RunSummary,
  recordFailure,
  recordIntent,
  recordResult,
} from './run/record.ts';
export { checkAutoscalers } from './workloads/autoscalers.ts';
export {
  checkStatefulSets,
  pauseScaledObjects,
  restoreScaledObjects,
  restoreStatefulSets,
  resumeCronJobs,
  scaleStatefulSetsDown,
  suspendCronJobs,
} from './workloads/changes.ts';
