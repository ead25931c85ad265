// Owns the names of the workflow's states: one list shared by infra (the definition),
// the handler registry, the CLI's progress output and the tests.

export const Steps = {
  inputIsObject: 'Input is an object?',
  notAnObject: 'Input is not a JSON object',
  prepare: 'Prepare',
  dryRun: 'Dry run?',
  planDryRun: 'Plan dry run',
  recordIntent: 'Record intent',
  whichAction: 'Which action?',
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

/** Lambda functions (one handler file each) and the Task states that invoke them. */
export const TaskFunctions = {
  prepare: [Steps.prepare],
  'record-intent': [Steps.recordIntent],
  'plan-dry-run': [Steps.planDryRun],
  'scale-down': [Steps.scaleDown],
  'stop-database': [Steps.stopDatabase],
  'start-database': [Steps.startDatabase],
  'check-database': [Steps.checkDatabaseStopped, Steps.checkDatabaseAvailable],
  'await-database': [Steps.awaitDatabaseStopped, Steps.awaitDatabaseAvailable],
  'restore-replicas': [Steps.restoreReplicas],
  'check-deployments': [Steps.checkDeploymentsStopped, Steps.checkDeploymentsAvailable],
  'check-health': [Steps.checkHealth],
  'suspend-cronjobs': [Steps.suspendCronJobs],
  'scale-statefulsets-down': [Steps.scaleStatefulSetsDown],
  'restore-statefulsets': [Steps.restoreStatefulSets],
  'check-statefulsets': [Steps.checkStatefulSetsStopped, Steps.checkStatefulSetsReady],
  'resume-cronjobs': [Steps.resumeCronJobs],
  'check-autoscalers': [Steps.checkAutoscalers],
  'scale-nodegroups-down': [Steps.scaleNodegroupsDown],
  'restore-nodegroups': [Steps.restoreNodegroups],
  'check-nodegroups': [Steps.checkNodegroupsDown, Steps.checkNodegroupsReady],
  'pause-keda': [Steps.pauseScaledObjects],
  'restore-keda': [Steps.restoreScaledObjects],
  'record-result': [Steps.recordResult],
  'record-failure': [Steps.recordFailure],
} as const satisfies Record<string, readonly StepName[]>;
export type TaskFunctionId = keyof typeof TaskFunctions;

/** Tasks that wait on a task token (completed by another function): not run like the others locally. */
export const TokenSteps: readonly StepName[] = [Steps.awaitDatabaseStopped, Steps.awaitDatabaseAvailable];

/** The function on RDS events that completes the database waits (not a Task of any workflow). */
export const DATABASE_EVENT_FUNCTION = 'database-event';

/** The function on the environment executions' status changes (ABORTED, TIMED_OUT, FAILED): records a run that ended without its Catch. */
export const EXECUTION_STATUS_FUNCTION = 'execution-status';

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

/** Every Task state, in no particular order: what the fault-injection tests enumerate. */
export const TaskSteps: readonly StepName[] = Object.values(TaskFunctions).flat();

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

/** The fleet's Lambda functions and their Task states; the child runs are a Step Functions integration. */
export const FleetFunctions = {
  'fleet-select': [FleetSteps.select],
  'fleet-record': [FleetSteps.record],
} as const satisfies Record<string, readonly FleetStepName[]>;
export type FleetFunctionId = keyof typeof FleetFunctions;

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

export const GuardFunctions = {
  'guard-select': [GuardSteps.select],
  'guard-step': [GuardSteps.step, GuardSteps.recordFailure],
  'guard-summary': [GuardSteps.summary],
} as const satisfies Record<string, readonly GuardStepName[]>;
export type GuardFunctionId = keyof typeof GuardFunctions;

/** Every deployed function's id (its handler file's name). */
export type FunctionId =
  | TaskFunctionId
  | FleetFunctionId
  | GuardFunctionId
  | typeof DATABASE_EVENT_FUNCTION
  | typeof EXECUTION_STATUS_FUNCTION;
