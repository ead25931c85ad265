// The one definition of the environment workflow (ARCHITECTURE §3). The stack deploys it
// with real Lambda functions; the CLI and the tests render the same construct to ASL and
// run it on aws-local-stepfunctions with the real handlers. JSONPath only: the local
// engine accepts JSONata but does not evaluate it.
import { App, Duration, Stack } from 'aws-cdk-lib';
import type { EventPattern } from 'aws-cdk-lib/aws-events';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import {
  type Chain,
  Choice,
  Condition,
  Fail,
  type IChainable,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Pass,
  Result,
  type State,
  StateGraph,
  Succeed,
  TaskInput,
  type TaskStateBase,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { Phases } from '#core/contracts';
import { DATABASE_EVENTS } from '#core/database/events';
import { ErrorNames, THROTTLING_ERRORS } from '#core/errors';
import { caughtState, type StepName, Steps, type TaskFunctionId, TaskFunctions } from '#core/steps';
import type { IamScope } from '../iam/scope.ts';

export type WorkflowFunctions = Record<TaskFunctionId, IFunction>;

/** Longer than the functions' own 60 s timeout: the Lambda's timeout error comes first when it can. */
export const TASK_TIMEOUT_SECONDS = 90;

/** Lambda's own service errors (what CDK's `retryOnServiceExceptions` retries, without jitter). */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
] as const;

export interface TaskRetrier {
  readonly errors: readonly string[];
  readonly intervalSeconds: number;
  readonly backoffRate: number;
  readonly maxDelaySeconds: number;
  readonly maxAttempts: number;
}

/**
 * The one Retry policy of every Lambda Task of the environment, fleet and guard workflows.
 * Each retrier waits a random time up to min(interval x rate^n, MaxDelaySeconds) (full
 * jitter), so Tasks throttled together do not come back together.
 *  - throttled: expected at fleet scale (RDS allows 300 requests in a burst and 12 per second
 *    per account; Lambda's concurrency; S3 SlowDown per prefix): Lambda's
 *    TooManyRequestsException, our TransientAwsError (core wraps throttling and network
 *    errors in it) and the SDK's throttling names raw, for a call core does not wrap.
 *    8 retries, at most 242 s of delay in all.
 *  - transient: a racing conditional write, a Kubernetes error (a 429 with Retry-After was
 *    already waited for in the function, see core/kube.ts). 5 retries, at most 60 s.
 *  - lambda: Lambda's service errors. 6 retries, at most 90 s.
 * Bound: the SDK makes at most AWS_SDK_MAX_ATTEMPTS (3) requests per call, so a throttled
 * call is sent at most 3 x (1 + 8) = 27 times per Task, over at most 242 s of Step Functions
 * delay plus the SDK's own backoff; test/infra/retries.test.ts checks these numbers.
 */
export const TASK_RETRIES = {
  throttled: {
    errors: ['Lambda.TooManyRequestsException', ErrorNames.TransientAwsError, ...THROTTLING_ERRORS],
    intervalSeconds: 2,
    backoffRate: 2,
    maxDelaySeconds: 60,
    maxAttempts: 8,
  },
  transient: {
    errors: [ErrorNames.ConditionalWriteConflict, ErrorNames.KubernetesError],
    intervalSeconds: 2,
    backoffRate: 2,
    maxDelaySeconds: 30,
    maxAttempts: 5,
  },
  lambda: {
    errors: LAMBDA_SERVICE_ERRORS,
    intervalSeconds: 2,
    backoffRate: 2,
    maxDelaySeconds: 30,
    maxAttempts: 6,
  },
} as const satisfies Record<string, TaskRetrier>;

/** The longest a retrier can wait in all before it gives up (every jittered wait at its maximum). */
export const retryDelayBoundSeconds = (r: TaskRetrier): number =>
  Array.from({ length: r.maxAttempts }, (_, n) =>
    Math.min(r.intervalSeconds * r.backoffRate ** n, r.maxDelaySeconds),
  ).reduce((a, b) => a + b, 0);

/**
 * Adds TASK_RETRIES to a Lambda Task built with `retryOnServiceExceptions: false`. `lambdaOnly`:
 * a Task that throws no errors of its own (Record failure logs them) retries only Lambda's.
 */
export function addTaskRetries<T extends TaskStateBase>(task: T, opts: { lambdaOnly?: boolean } = {}): T {
  const retriers: TaskRetrier[] = opts.lambdaOnly
    ? [{ ...TASK_RETRIES.throttled, errors: ['Lambda.TooManyRequestsException'] }, TASK_RETRIES.lambda]
    : Object.values(TASK_RETRIES);
  for (const r of retriers)
    task.addRetry({
      errors: [...r.errors],
      interval: Duration.seconds(r.intervalSeconds),
      backoffRate: r.backoffRate,
      maxDelay: Duration.seconds(r.maxDelaySeconds),
      maxAttempts: r.maxAttempts,
      jitterStrategy: JitterType.FULL,
    });
  return task;
}

/** Builds the states inside `scope` and returns the start state. */
export function buildWorkflow(scope: Construct, fns: WorkflowFunctions): State {
  const recordFailure = addTaskRetries(
    new LambdaInvoke(scope, Steps.recordFailure, {
      lambdaFunction: fns['record-failure'],
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.summary',
      comment: 'Catch-all: records what failed and where, releases the lock.',
    }),
    { lambdaOnly: true },
  ).next(new Fail(scope, Steps.runFailed, { errorPath: '$.error.Error', causePath: '$.error.Cause' }));

  const task = (
    name: StepName,
    id: TaskFunctionId,
    opts: { resultPath?: string; payload?: TaskInput; catchTo?: IChainable } = {},
  ) => {
    if (!(TaskFunctions[id] as readonly string[]).includes(name))
      throw new Error(`state "${name}" is not a Task of ${id}`);
    const t = new LambdaInvoke(scope, name, {
      lambdaFunction: fns[id],
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      // A hung peer ends the step with States.Timeout, caught and recorded with the step's name.
      taskTimeout: Timeout.duration(Duration.seconds(TASK_TIMEOUT_SECONDS)),
      ...(opts.resultPath ? { resultPath: opts.resultPath } : {}),
      ...(opts.payload ? { payload: opts.payload } : {}),
    });
    addTaskRetries(t);
    if (opts.catchTo) {
      t.addCatch(opts.catchTo, { errors: ['States.ALL'] });
    } else {
      // Names the failed step for the failure record (a Lambda timeout's cause does not).
      const caught = new Pass(scope, caughtState(name), {
        result: Result.fromString(name),
        resultPath: '$.failedStep',
      }).next(recordFailure);
      t.addCatch(caught, { errors: ['States.ALL'], resultPath: '$.error' });
    }
    return t;
  };

  /**
   * Check (its result at $.poll) -> Choice(stable?) -> Wait(SecondsPath) -> Check, then `next`;
   * with `phase`, a stable check goes to `phase.next` instead when Prepare marked that phase
   * as needed ($.phases.<name>): skipping a phase that has nothing to do costs no state.
   */
  const pollLoop = (
    check: StepName,
    fn: TaskFunctionId,
    choice: StepName,
    wait: StepName,
    next: IChainable,
    phase?: { name: keyof Phases; next: IChainable },
  ) => {
    const checkTask = task(check, fn, { resultPath: '$.poll' });
    const waitState = new Wait(scope, wait, { time: WaitTime.secondsPath('$.poll.waitSeconds') });
    waitState.next(checkTask);
    const stable = Condition.booleanEquals('$.poll.stable', true);
    const decide = new Choice(scope, choice);
    if (phase)
      decide.when(Condition.and(stable, Condition.booleanEquals(`$.phases.${phase.name}`, true)), phase.next);
    return checkTask.next(decide.when(stable, next).otherwise(waitState));
  };

  const recordResult = task(Steps.recordResult, 'record-result').next(new Succeed(scope, Steps.done));

  /**
   * Event-driven database wait (deployed form): when Start/Stop database says an RDS event
   * will come, a Task waits on its token (stored by the await function, completed by the
   * function on the RDS event) up to the fallback time; then, or on any error, and always
   * when no event is expected (the local engine, target accounts), the poll loop. The poll
   * loop's first check confirms what the event said.
   */
  const databaseWait = (choice: StepName, wait: StepName, loop: Chain) => {
    if (!(TaskFunctions['await-database'] as readonly string[]).includes(wait))
      throw new Error(`state "${wait}" is not a Task of await-database`);
    const awaitEvent = new LambdaInvoke(scope, wait, {
      lambdaFunction: fns['await-database'],
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      retryOnServiceExceptions: false,
      payload: TaskInput.fromObject({ token: JsonPath.taskToken, context: JsonPath.objectAt('$') }),
      resultPath: '$.databaseWait.result',
      taskTimeout: Timeout.at('$.databaseWait.fallbackSeconds'),
      comment: 'Completed by the RDS event (or the function itself, if the database is already there).',
    });
    addTaskRetries(awaitEvent);
    // A missed event or a failed wait costs the fallback time, not the run: poll instead.
    awaitEvent.addCatch(loop, { errors: ['States.ALL'], resultPath: '$.databaseWait.fallback' });
    awaitEvent.next(loop);
    return new Choice(scope, choice)
      .when(Condition.booleanEquals('$.databaseWait.events', true), awaitEvent)
      .otherwise(loop);
  };

  // The phases (README "Order"): down suspends CronJobs, then stops deployments, then
  // StatefulSets, then the database, then node groups; up runs the same phases the other way
  // round, with the health URLs answering before the CronJobs resume.
  const nodegroupsDown = task(Steps.scaleNodegroupsDown, 'scale-nodegroups-down').next(
    pollLoop(
      Steps.checkNodegroupsDown,
      'check-nodegroups',
      Steps.nodegroupsDown,
      Steps.waitNodegroupsDown,
      recordResult,
    ),
  );
  const stopDatabase = task(Steps.stopDatabase, 'stop-database').next(
    databaseWait(
      Steps.databaseStopEvents,
      Steps.awaitDatabaseStopped,
      pollLoop(
        Steps.checkDatabaseStopped,
        'check-database',
        Steps.databaseStopped,
        Steps.waitDatabaseStop,
        recordResult,
        { name: 'nodegroups', next: nodegroupsDown },
      ),
    ),
  );
  const statefulSetsDown = task(Steps.scaleStatefulSetsDown, 'scale-statefulsets-down').next(
    pollLoop(
      Steps.checkStatefulSetsStopped,
      'check-statefulsets',
      Steps.statefulSetsStopped,
      Steps.waitStatefulSetsStop,
      stopDatabase,
    ),
  );
  const down = task(Steps.suspendCronJobs, 'suspend-cronjobs').next(
    task(Steps.pauseScaledObjects, 'pause-keda')
      .next(task(Steps.scaleDown, 'scale-down'))
      .next(
        pollLoop(
          Steps.checkDeploymentsStopped,
          'check-deployments',
          Steps.deploymentsStopped,
          Steps.waitDeploymentsStop,
          statefulSetsDown,
        ),
      ),
  );

  const healthLoop = pollLoop(
    Steps.checkHealth,
    'check-health',
    Steps.appsHealthy,
    Steps.waitHealth,
    task(Steps.resumeCronJobs, 'resume-cronjobs').next(recordResult),
  );
  // Kubernetes ignores an HPA while its target is at 0: wait until it acts again.
  const autoscalersLoop = pollLoop(
    Steps.checkAutoscalers,
    'check-autoscalers',
    Steps.autoscalersActive,
    Steps.waitAutoscalers,
    healthLoop,
  );
  const deploymentsLoop = pollLoop(
    Steps.checkDeploymentsAvailable,
    'check-deployments',
    Steps.deploymentsAvailable,
    Steps.waitDeploymentsStart,
    healthLoop,
    { name: 'autoscalers', next: autoscalersLoop },
  );
  const statefulSetsUp = task(Steps.restoreStatefulSets, 'restore-statefulsets').next(
    pollLoop(
      Steps.checkStatefulSetsReady,
      'check-statefulsets',
      Steps.statefulSetsReady,
      Steps.waitStatefulSetsStart,
      task(Steps.restoreReplicas, 'restore-replicas').next(deploymentsLoop),
    ),
  );
  const up = task(Steps.startDatabase, 'start-database').next(
    databaseWait(
      Steps.databaseStartEvents,
      Steps.awaitDatabaseAvailable,
      pollLoop(
        Steps.checkDatabaseAvailable,
        'check-database',
        Steps.databaseAvailable,
        Steps.waitDatabaseStart,
        task(Steps.restoreScaledObjects, 'restore-keda').next(statefulSetsUp),
      ),
    ),
  );

  // Node groups first: the nodes are there before the database and the workloads come back.
  const nodegroupsUp = task(Steps.restoreNodegroups, 'restore-nodegroups').next(
    pollLoop(
      Steps.checkNodegroupsReady,
      'check-nodegroups',
      Steps.nodegroupsReady,
      Steps.waitNodegroupsReady,
      up,
    ),
  );

  // Prepare changes nothing but the lock (which it releases itself on a refusal): its
  // errors end the run at once. The Catch has no ResultPath (the error replaces the input),
  // so that any input, even "down" or null, fails with the error Prepare raised rather than
  // a ResultPath error. (An explicit ResultPath "$" is taken literally by the local engine.)
  const refused = new Fail(scope, Steps.refused, { errorPath: '$.Error', causePath: '$.Cause' });
  const prepare = task(Steps.prepare, 'prepare', {
    payload: TaskInput.fromObject({
      input: JsonPath.objectAt('$'),
      executionId: JsonPath.stringAt('$$.Execution.Id'),
    }),
    catchTo: refused,
  });

  const whichAction = new Choice(scope, Steps.whichAction)
    .when(Condition.stringEquals('$.request.action', 'down'), down)
    .when(
      Condition.and(
        Condition.stringEquals('$.request.action', 'up'),
        Condition.booleanEquals('$.phases.nodegroups', true),
      ),
      nodegroupsUp,
    )
    .when(Condition.stringEquals('$.request.action', 'up'), up)
    .otherwise(recordResult);
  const dryRun = new Choice(scope, Steps.dryRun)
    .when(
      Condition.booleanEquals('$.request.dryRun', true),
      task(Steps.planDryRun, 'plan-dry-run').next(new Succeed(scope, Steps.dryRunDone)),
    )
    .otherwise(task(Steps.recordIntent, 'record-intent').next(whichAction));

  prepare.next(dryRun);
  // A Task cannot even be given a null, string, number or boolean input on the local engine
  // (and a JSONPath on it fails with States.Runtime, which no Catch catches): refuse those
  // here, by name, before anything runs.
  const notObject = new Fail(scope, Steps.notAnObject, {
    error: 'InvalidInput',
    cause:
      'invalid run request: the input must be a JSON object such as {"action":"down","customer":"alpha","environment":"dev","user":"jenkins"}',
  });
  return new Choice(scope, Steps.inputIsObject)
    .when(
      Condition.or(
        // First (the engine stops at the first match): the local engine reads a null input as
        // absent, and evaluates IsPresent:false as always false, hence Not(IsPresent).
        Condition.not(Condition.isPresent('$')),
        Condition.isNull('$'),
        Condition.isString('$'),
        Condition.isNumeric('$'),
        Condition.isBoolean('$'),
      ),
      notObject,
    )
    .otherwise(prepare);
}

/** One rule per database kind: the started/stopped events of the configured databases only. */
export function databaseEventPatterns(rds: IamScope['rds'], accounts: readonly string[]): EventPattern[] {
  const ids = (kind: 'instance' | 'cluster') =>
    [...new Set(rds.filter((r) => r.kind === kind).flatMap((r) => r.identifiers))]
      .sort()
      .map((id) => (id.includes('*') ? ({ wildcard: id } as unknown as string) : id));
  const patterns: EventPattern[] = [];
  for (const kind of ['instance', 'cluster'] as const) {
    const identifiers = ids(kind);
    if (!identifiers.length) continue;
    patterns.push({
      source: ['aws.rds'],
      // Only the accounts the configured databases live in: a same-named database in an
      // account whose events reach this bus must not complete a wait.
      account: [...accounts],
      detailType: [kind === 'instance' ? 'RDS DB Instance Event' : 'RDS DB Cluster Event'],
      detail: {
        SourceType: [kind === 'instance' ? 'DB_INSTANCE' : 'CLUSTER'],
        EventID: Object.keys(DATABASE_EVENTS[kind]),
        SourceIdentifier: identifiers,
      },
    });
  }
  return patterns;
}

export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';
export const localFunctionArn = (id: string) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:cim-${id}`;

/**
 * The ASL of the workflow without a deployment: the same construct in a throwaway stack,
 * with placeholder function ARNs (the local engine maps every Task to its handler).
 */
export function renderDefinition(): Record<string, unknown> {
  return renderLocal(
    'Render',
    Object.keys(TaskFunctions) as TaskFunctionId[],
    'Environment workflow',
    (stack, fns) => buildWorkflow(stack, fns),
  );
}

/**
 * Renders a workflow without a deployment: the same construct in a throwaway stack, with
 * placeholder function ARNs (the local engine maps every Task to its handler).
 */
export function renderLocal<F extends string>(
  stackName: string,
  functionIds: readonly F[],
  comment: string,
  build: (stack: Stack, fns: Record<F, IFunction>) => State,
): Record<string, unknown> {
  const stack = new Stack(new App(), stackName, { env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION } });
  const fns = Object.fromEntries(
    functionIds.map((id) => [id, LambdaFunction.fromFunctionArn(stack, `fn-${id}`, localFunctionArn(id))]),
  ) as Record<F, IFunction>;
  const graph = new StateGraph(build(stack, fns), comment);
  return withPartition(stack.resolve(graph.toGraphJson())) as Record<string, unknown>;
}

/**
 * The local stack knows its account and region but not its partition: service integration
 * ARNs (e.g. `.waitForTaskToken`) come out as Fn::Join over `Ref: AWS::Partition`. Joined
 * here with "aws", as the synthesized template resolves them for the local engine.
 */
function withPartition(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withPartition);
  if (!value || typeof value !== 'object') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join && Object.keys(value).length === 1)
    return join[1]
      .map((part) => {
        if (typeof part === 'string') return part;
        if ((part as { Ref?: string }).Ref === 'AWS::Partition') return 'aws';
        throw new Error(`internal: unresolved token in a rendered definition: ${JSON.stringify(part)}`);
      })
      .join(join[0]);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPartition(v)]));
}
