// Owns the names of the workflow's states: one list shared by infra (the definition),
// the handler registry, the CLI's progress output and the tests.

export const Steps = {
  inputIsObject: 'Input is an object?',
  notAnObject: 'Input is not a JSON object',
  prepare: 'Prepare',
  wakeInEffect: 'Wake in effect or renewed?',
  alreadyAwake: 'Already awake',
  recordWake: 'Record wake',
  scheduleWakeDown: 'Schedule wake down',
  renewWake: 'Renew wake',
  scheduleRenewedWakeDown: 'Schedule renewed wake down',
  renewedDone: 'Wake renewed',
  renewFailed: 'Wake not renewed',
  dryRun: 'Dry run?',
  planDryRun: 'Plan dry run',
  recordIntent: 'Record intent',
  whichAction: 'Which action?',
  pointIngresses: 'Point Ingresses to sleeping backend',
  suspendCronJobs: 'Suspend CronJobs',
  pauseScaledObjects: 'Pause KEDA ScaledObjects',
  scaleDown: 'Scale deployments to zero',
  checkDeploymentsStopped: 'Check deployments stopped',
  deploymentsStopped: 'Deployments stopped?',
  waitDeploymentsStop: 'Wait for deployments to stop',
  scaleStatefulSetsDown: 'Scale StatefulSets to zero',
  checkStatefulSetsStopped: 'Check StatefulSets stopped',
  statefulSetsStopped: 'StatefulSets stopped?',
  waitStatefulSetsStop: 'Wait for StatefulSets to stop',
  stopDatabase: 'Stop database',
  checkDatabaseStopped: 'Check database stopped',
  databaseStopped: 'Database stopped?',
  waitDatabaseStop: 'Wait for database to stop',
  databaseStopEvents: 'Database stop event expected?',
  awaitDatabaseStopped: 'Await database stopped event',
  scaleNodegroupsDown: 'Scale node groups to zero',
  checkNodegroupsDown: 'Check node groups scaled down',
  nodegroupsDown: 'Node groups scaled down?',
  waitNodegroupsDown: 'Wait for node groups to scale down',
  restoreNodegroups: 'Restore node groups',
  checkNodegroupsReady: 'Check node groups ready',
  nodegroupsReady: 'Node groups ready?',
  waitNodegroupsReady: 'Wait for node groups to be ready',
  startDatabase: 'Start database',
  checkDatabaseAvailable: 'Check database available',
  databaseAvailable: 'Database available?',
  waitDatabaseStart: 'Wait for database to start',
  databaseStartEvents: 'Database start event expected?',
  awaitDatabaseAvailable: 'Await database started event',
  restoreScaledObjects: 'Restore KEDA ScaledObjects',
  restoreStatefulSets: 'Restore StatefulSets',
  checkStatefulSetsReady: 'Check StatefulSets ready',
  statefulSetsReady: 'StatefulSets ready?',
  waitStatefulSetsStart: 'Wait for StatefulSets to start',
  restoreReplicas: 'Restore replicas',
  checkDeploymentsAvailable: 'Check deployments available',
  deploymentsAvailable: 'Deployments available?',
  waitDeploymentsStart: 'Wait for deployments to start',
  checkAutoscalers: 'Check autoscalers active',
  autoscalersActive: 'Autoscalers active?',
  waitAutoscalers: 'Wait for autoscalers',
  restoreIngresses: 'Restore Ingresses',
  checkHealth: 'Check health',
  appsHealthy: 'Applications healthy?',
  waitHealth: 'Wait for health',
  resumeCronJobs: 'Resume CronJobs',
  recordResult: 'Record result',
  recordFailure: 'Record failure',
  done: 'Done',
  dryRunDone: 'Dry run done',
  refused: 'Refused or invalid',
  runFailed: 'Run failed',
} as const;
export type StepName = (typeof Steps)[keyof typeof Steps];

/** Tasks that wait on a task token (completed by another function): not run like the others locally. */
export const TokenSteps: readonly StepName[] = [Steps.awaitDatabaseStopped, Steps.awaitDatabaseAvailable];

/** Wait states, for progress output and for the local engine's wait overrides. */
export const WaitSteps: readonly StepName[] = [
  Steps.waitDeploymentsStop,
  Steps.waitStatefulSetsStop,
  Steps.waitDatabaseStop,
  Steps.waitNodegroupsDown,
  Steps.waitNodegroupsReady,
  Steps.waitDatabaseStart,
  Steps.waitStatefulSetsStart,
  Steps.waitDeploymentsStart,
  Steps.waitAutoscalers,
  Steps.waitHealth,
];

/** The Pass state a Task's Catch goes to: it names the failed step for the failure record. */
export const caughtState = (step: StepName) => `Caught: ${step}`;

/** The fleet workflow's states (a second state machine that runs the environment workflow per environment). */
export const FleetSteps = {
  select: 'Select environments',
  refused: 'Fleet refused',
  runEach: 'Run each environment',
  waitStart: 'Wait for start slot',
  runEnvironment: 'Run environment workflow',
  notSucceeded: 'Environment did not succeed',
  record: 'Record fleet summary',
  anyFailed: 'Any environment failed?',
  failed: 'Fleet had failures',
  done: 'Fleet done',
} as const;
export type FleetStepName = (typeof FleetSteps)[keyof typeof FleetSteps];

/** The seven-day guard's states (a third state machine: re-stops a parked database that AWS started). */
export const GuardSteps = {
  select: 'Find guarded environments',
  each: 'Guard each environment',
  step: 'Keep database stopped',
  stopped: 'Database kept stopped?',
  wait: 'Wait for database (guard)',
  caught: 'Guard step failed',
  recordFailure: 'Record guard failure',
  itemDone: 'Environment guarded',
  summary: 'Summarize guard',
} as const;
export type GuardStepName = (typeof GuardSteps)[keyof typeof GuardSteps];

/** The three state machines whose Tasks run the functions. */
export type WorkflowName = 'environment' | 'fleet' | 'guard';

/** One catalog entry: a Task function of one workflow and its Task states, or a function on events. */
type FunctionEntry =
  | { readonly workflow: 'environment'; readonly states: readonly StepName[] }
  | { readonly workflow: 'fleet'; readonly states: readonly FleetStepName[] }
  | { readonly workflow: 'guard'; readonly states: readonly GuardStepName[] }
  | { readonly workflow: null; readonly on: string };

/**
 * Every deployed function, by id (its handler file's name): the one list the handler registry,
 * the stack's functions, the local engine's bindings and the per-workflow lists below derive from.
 * A Task function names the workflow and the Task states that invoke it; a function on events
 * (not a Task of any workflow) names what invokes it. The order is the deployment's order.
 */
export const FUNCTIONS = {
  prepare: { workflow: 'environment', states: [Steps.prepare] },
  'record-intent': { workflow: 'environment', states: [Steps.recordIntent] },
  'plan-dry-run': { workflow: 'environment', states: [Steps.planDryRun] },
  'scale-down': { workflow: 'environment', states: [Steps.scaleDown] },
  'stop-database': { workflow: 'environment', states: [Steps.stopDatabase] },
  'start-database': { workflow: 'environment', states: [Steps.startDatabase] },
  'check-database': {
    workflow: 'environment',
    states: [Steps.checkDatabaseStopped, Steps.checkDatabaseAvailable],
  },
  'await-database': {
    workflow: 'environment',
    states: [Steps.awaitDatabaseStopped, Steps.awaitDatabaseAvailable],
  },
  'restore-replicas': { workflow: 'environment', states: [Steps.restoreReplicas] },
  'check-deployments': {
    workflow: 'environment',
    states: [Steps.checkDeploymentsStopped, Steps.checkDeploymentsAvailable],
  },
  'check-health': { workflow: 'environment', states: [Steps.checkHealth] },
  'suspend-cronjobs': { workflow: 'environment', states: [Steps.suspendCronJobs] },
  'scale-statefulsets-down': { workflow: 'environment', states: [Steps.scaleStatefulSetsDown] },
  'restore-statefulsets': { workflow: 'environment', states: [Steps.restoreStatefulSets] },
  'check-statefulsets': {
    workflow: 'environment',
    states: [Steps.checkStatefulSetsStopped, Steps.checkStatefulSetsReady],
  },
  'resume-cronjobs': { workflow: 'environment', states: [Steps.resumeCronJobs] },
  'check-autoscalers': { workflow: 'environment', states: [Steps.checkAutoscalers] },
  'scale-nodegroups-down': { workflow: 'environment', states: [Steps.scaleNodegroupsDown] },
  'restore-nodegroups': { workflow: 'environment', states: [Steps.restoreNodegroups] },
  'check-nodegroups': {
    workflow: 'environment',
    states: [Steps.checkNodegroupsDown, Steps.checkNodegroupsReady],
  },
  'pause-keda': { workflow: 'environment', states: [Steps.pauseScaledObjects] },
  'restore-keda': { workflow: 'environment', states: [Steps.restoreScaledObjects] },
  // Environments with sleepingBackend (issue 19): Ingresses to the wake page while down.
  ingresses: { workflow: 'environment', states: [Steps.pointIngresses, Steps.restoreIngresses] },
  'record-result': { workflow: 'environment', states: [Steps.recordResult] },
  'record-failure': { workflow: 'environment', states: [Steps.recordFailure] },
  // A wake's up (issue 19): wake.json and the ledgers, then its time to live; one function
  // for the four (it is told its step), so a wake adds one function to the workflow's role.
  'wake-run': {
    workflow: 'environment',
    states: [Steps.recordWake, Steps.scheduleWakeDown, Steps.renewWake, Steps.scheduleRenewedWakeDown],
  },
  // The fleet's Lambda Tasks; its child runs are a Step Functions integration.
  'fleet-select': { workflow: 'fleet', states: [FleetSteps.select] },
  'fleet-record': { workflow: 'fleet', states: [FleetSteps.record] },
  'guard-select': { workflow: 'guard', states: [GuardSteps.select] },
  'guard-step': { workflow: 'guard', states: [GuardSteps.step, GuardSteps.recordFailure] },
  'guard-summary': { workflow: 'guard', states: [GuardSteps.summary] },
  // Completes the database waits on RDS events.
  'database-event': { workflow: null, on: 'RDS started/stopped events' },
  // Records an environment run that ended without its Catch (ABORTED, TIMED_OUT, FAILED).
  'execution-status': { workflow: null, on: 'environment executions ABORTED/TIMED_OUT/FAILED' },
  // Rebuilds the deployed report (report/ in the state buckets) after each fleet run.
  report: { workflow: null, on: 'fleet executions SUCCEEDED/FAILED/TIMED_OUT/ABORTED' },
  // Puts an expired wake's environment to sleep: starts the environment workflow's down.
  'wake-ttl': { workflow: null, on: "a wake's one-time schedule (EventBridge Scheduler)" },
  // The deployed wake page: reads the records, starts the environment workflow's up with a wake.
  'wake-endpoint': { workflow: null, on: 'the wake page (API Gateway HTTP API, JWT authorizer)' },
} as const satisfies Record<string, FunctionEntry>;

type Catalog = typeof FUNCTIONS;
/** Every deployed function's id (its handler file's name). */
export type FunctionId = keyof Catalog;
/** The ids of the functions whose Tasks are states of workflow `W`. */
export type FunctionIdOf<W extends WorkflowName> = {
  [K in FunctionId]: Catalog[K]['workflow'] extends W ? K : never;
}[FunctionId];
/** Every function that a Task of some workflow invokes. */
export type WorkflowFunctionId = FunctionIdOf<WorkflowName>;
/** A workflow's functions and the Task states that invoke each, in the catalog's order. */
export type FunctionStates<W extends WorkflowName> = {
  readonly [K in FunctionIdOf<W>]: Catalog[K] extends { states: infer S } ? S : never;
};

/** Workflow `W`'s functions and their Task states, derived from the catalog. */
export function functionsOf<W extends WorkflowName>(workflow: W): FunctionStates<W> {
  return Object.fromEntries(
    Object.entries(FUNCTIONS).flatMap(([id, f]) => (f.workflow === workflow ? [[id, f.states]] : [])),
  ) as FunctionStates<W>;
}

/** Lambda functions (one handler file each) and the Task states that invoke them. */
export const TaskFunctions = functionsOf('environment');
export type TaskFunctionId = FunctionIdOf<'environment'>;
/** The fleet's Lambda functions and their Task states; the child runs are a Step Functions integration. */
export const FleetFunctions = functionsOf('fleet');
export type FleetFunctionId = FunctionIdOf<'fleet'>;
/** The seven-day guard's functions and their Task states. */
export const GuardFunctions = functionsOf('guard');
export type GuardFunctionId = FunctionIdOf<'guard'>;

/** The function on RDS events that completes the database waits (not a Task of any workflow). */
export const DATABASE_EVENT_FUNCTION = 'database-event' satisfies FunctionId;

/** The function on the environment executions' status changes (ABORTED, TIMED_OUT, FAILED): records a run that ended without its Catch. */
export const EXECUTION_STATUS_FUNCTION = 'execution-status' satisfies FunctionId;

/** The function that rebuilds the deployed report after each fleet run (not a Task of any workflow). */
export const REPORT_FUNCTION = 'report' satisfies FunctionId;

/** The function a wake's one-time schedule invokes at its until (run/wake-ttl.ts). */
export const WAKE_TTL_FUNCTION = 'wake-ttl' satisfies FunctionId;

/** The deployed wake page's function (wake/deployed.ts), behind the HTTP API. */
export const WAKE_ENDPOINT_FUNCTION = 'wake-endpoint' satisfies FunctionId;

/** Every Task state, in no particular order: what the fault-injection tests enumerate. */
export const TaskSteps: readonly StepName[] = Object.values(TaskFunctions).flat();
