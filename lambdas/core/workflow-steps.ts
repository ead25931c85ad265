// The workflow's steps in one import for handlers, the CLI and tests. Each concern lives in
// its own module: contracts (run-context), prepare and preflight (prepare), the dry-run plan
// (plan), changes (changes), polls (polls), records and their transitions (recording).
export { checkAutoscalers } from './autoscalers.ts';
export { databaseAction, fence, restoreReplicas, scaleDown } from './changes.ts';
export { checkNodegroups, restoreNodegroups, scaleNodegroupsDown } from './nodegroup-changes.ts';
export { type DryRunPlan, type PlannedChange, planDryRun, restoreDecision } from './plan.ts';
export { checkDatabase, checkDeployments, checkHealth } from './polls.ts';
export { findLastChange, prepare } from './prepare.ts';
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
} from './recording.ts';
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
} from './run-context.ts';
export {
  checkStatefulSets,
  pauseScaledObjects,
  restoreScaledObjects,
  restoreStatefulSets,
  resumeCronJobs,
  scaleStatefulSetsDown,
  suspendCronJobs,
} from './workload-changes.ts';
