// The one definition of the environment workflow (ARCHITECTURE §3). The stack deploys it
// with real Lambda functions; the CLI and the tests render the same construct to ASL and
// run it on aws-local-stepfunctions with the real handlers. JSONPath only: the local
// engine accepts JSONata but does not evaluate it.
import { Duration } from 'aws-cdk-lib';
import type { EventPattern } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
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
  Succeed,
  TaskInput,
  type TaskStateBase,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { Phases } from '#core/contracts';
import { DATABASE_EVENTS } from '#core/database/events';
import { ErrorNames } from '#core/errors';
import { caughtState, type StepName, Steps, type TaskFunctionId, TaskFunctions } from '#core/steps';
import type { IamScope } from '../iam/scope.ts';
import { renderLocal } from './render-local.ts';
import { lambdaTask, TASK_TIMEOUT_SECONDS } from './states.ts';

export type WorkflowFunctions = Record<TaskFunctionId, IFunction>;

/**
 * How long a wake's up waits for a running change to end: up to 60 looks, each after a wait of
 * up to 60 s (full jitter: about 30 minutes in all, at most an hour), then it is refused.
 */
export const WAKE_WAIT = { intervalSeconds: 60, attempts: 60 } as const;

/** The environment workflow's state builders, bound to its scope and functions. */
interface Builders {
  scope: Construct;
  /** A Lambda Task of function `id` whose failure is caught and recorded (or goes to `catchTo`). */
  task(
    name: StepName,
    id: TaskFunctionId,
    opts?: { resultPath?: string; payload?: TaskInput; catchTo?: IChainable },
  ): TaskStateBase;
  /** Record result, then Done: where every finished phase ends. */
  recordResult: Chain;
  fns: WorkflowFunctions;
}

/** Builds the states inside `scope` and returns the start state. */
export function buildWorkflow(scope: Construct, fns: WorkflowFunctions): State {
  const b = builders(scope, fns);
  const down = downPhases(b);
  const { up, nodegroupsUp } = upPhases(b);
  return entry(b, { down, up, nodegroupsUp });
}

function builders(scope: Construct, fns: WorkflowFunctions): Builders {
  const recordFailure = lambdaTask(scope, Steps.recordFailure, fns['record-failure'], {
    resultPath: '$.summary',
    comment: 'Catch-all: records what failed and where, releases the lock.',
    lambdaOnly: true,
  }).next(new Fail(scope, Steps.runFailed, { errorPath: '$.error.Error', causePath: '$.error.Cause' }));

  const task: Builders['task'] = (name, id, opts = {}) => {
    if (!(TaskFunctions[id] as readonly string[]).includes(name))
      throw new Error(`state "${name}" is not a Task of ${id}`);
    const t = lambdaTask(scope, name, fns[id], {
      // A hung peer ends the step with States.Timeout, caught and recorded with the step's name.
      taskTimeout: Timeout.duration(Duration.seconds(TASK_TIMEOUT_SECONDS)),
      ...(opts.resultPath ? { resultPath: opts.resultPath } : {}),
      ...(opts.payload ? { payload: opts.payload } : {}),
    });
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

  const recordResult = task(Steps.recordResult, 'record-result').next(new Succeed(scope, Steps.done));
  return { scope, task, recordResult, fns };
}

/**
 * A wake's up records its wake (wake.json, the ledgers) and schedules its time to live after
 * Record intent, before the long waits: "Which action?" sends it there first (a wake not yet
 * scheduled), and it comes back once scheduled. Their failures are recorded as the up's (the
 * intent names the wake's build, so a failed up ends the wake). Other runs pass no more states.
 */
function wakeSteps(b: Builders, whichAction: () => Choice): { needed: Condition; record: TaskStateBase } {
  const record = b.task(Steps.recordWake, 'wake-run', { payload: wakePayload(Steps.recordWake) });
  record
    .next(b.task(Steps.scheduleWakeDown, 'wake-run', { payload: wakePayload(Steps.scheduleWakeDown) }))
    .next(whichAction());
  return {
    // Not(IsPresent): the local engine evaluates IsPresent:false as always false.
    needed: Condition.and(
      Condition.isPresent('$.wakeRun'),
      Condition.not(Condition.isPresent('$.wakeSchedule')),
    ),
    record,
  };
}

/**
 * A renewal: the environment is still up from an expired wake, so a new wake over that up,
 * no run and no lock (Prepare's answer): the same two functions, whose errors end the run
 * (there is no run record to write them in; nothing is changed but wake.json and the ledgers).
 * The schedule first: a renewal written with no schedule at its new until (the old one has
 * fired) would keep the environment up with nothing to put it to sleep; a schedule with no
 * renewal fires, finds the old wake expired, and puts it down, which is what it was.
 */
function renewal(b: Builders): Chain {
  const notRenewed = new Fail(b.scope, Steps.renewFailed, { errorPath: '$.Error', causePath: '$.Cause' });
  return b
    .task(Steps.scheduleRenewedWakeDown, 'wake-run', {
      payload: wakePayload(Steps.scheduleRenewedWakeDown),
      catchTo: notRenewed,
    })
    .next(b.task(Steps.renewWake, 'wake-run', { payload: wakePayload(Steps.renewWake), catchTo: notRenewed }))
    .next(new Succeed(b.scope, Steps.renewedDone));
}

/** The wake function runs four steps: it is told which, with the state's input as context. */
const wakePayload = (step: StepName) => TaskInput.fromObject({ step, context: JsonPath.objectAt('$') });

/**
 * Check (its result at $.poll) -> Choice(stable?) -> Wait(SecondsPath) -> Check, then `next`;
 * with `phase`, a stable check goes to `phase.next` instead when Prepare marked that phase
 * as needed ($.phases.<name>; several: the first marked): skipping a phase that has nothing
 * to do costs no state.
 */
function pollLoop(
  b: Builders,
  states: { check: StepName; fn: TaskFunctionId; choice: StepName; wait: StepName },
  next: IChainable,
  phase?: { name: keyof Phases; next: IChainable } | readonly { name: keyof Phases; next: IChainable }[],
): Chain {
  const checkTask = b.task(states.check, states.fn, { resultPath: '$.poll' });
  const waitState = new Wait(b.scope, states.wait, { time: WaitTime.secondsPath('$.poll.waitSeconds') });
  waitState.next(checkTask);
  const stable = Condition.booleanEquals('$.poll.stable', true);
  const decide = new Choice(b.scope, states.choice);
  // The first needed phase wins (an up with HPAs and Ingresses: the autoscalers' loop, then the Ingresses).
  for (const p of phase ? [phase].flat() : [])
    decide.when(Condition.and(stable, Condition.booleanEquals(`$.phases.${p.name}`, true)), p.next);
  return checkTask.next(decide.when(stable, next).otherwise(waitState));
}

/**
 * Event-driven database wait (deployed form): when Start/Stop database says an RDS event
 * will come, a Task waits on its token (stored by the await function, completed by the
 * function on the RDS event) up to the fallback time; then, or on any error, and always
 * when no event is expected (the local engine, target accounts), the poll loop. The poll
 * loop's first check confirms what the event said.
 */
function databaseWait(b: Builders, choice: StepName, wait: StepName, loop: Chain): Choice {
  if (!(TaskFunctions['await-database'] as readonly string[]).includes(wait))
    throw new Error(`state "${wait}" is not a Task of await-database`);
  const awaitEvent = lambdaTask(b.scope, wait, b.fns['await-database'], {
    integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: TaskInput.fromObject({ token: JsonPath.taskToken, context: JsonPath.objectAt('$') }),
    resultPath: '$.databaseWait.result',
    taskTimeout: Timeout.at('$.databaseWait.fallbackSeconds'),
    comment: 'Completed by the RDS event (or the function itself, if the database is already there).',
  });
  // A missed event or a failed wait costs the fallback time, not the run: poll instead.
  awaitEvent.addCatch(loop, { errors: ['States.ALL'], resultPath: '$.databaseWait.fallback' });
  awaitEvent.next(loop);
  return new Choice(b.scope, choice)
    .when(Condition.booleanEquals('$.databaseWait.events', true), awaitEvent)
    .otherwise(loop);
}

// The phases (docs/configuration.md "Order"): down suspends CronJobs, then stops deployments, then
// StatefulSets, then the database, then node groups; up runs the same phases the other way
// round, with the health URLs answering before the CronJobs resume.

/** Down: CronJobs, KEDA, deployments, StatefulSets, the database, then node groups. */
function downPhases(b: Builders): Chain {
  const { task, recordResult } = b;
  const nodegroupsDown = task(Steps.scaleNodegroupsDown, 'scale-nodegroups-down').next(
    pollLoop(
      b,
      {
        check: Steps.checkNodegroupsDown,
        fn: 'check-nodegroups',
        choice: Steps.nodegroupsDown,
        wait: Steps.waitNodegroupsDown,
      },
      recordResult,
    ),
  );
  const stopDatabase = task(Steps.stopDatabase, 'stop-database').next(
    databaseWait(
      b,
      Steps.databaseStopEvents,
      Steps.awaitDatabaseStopped,
      pollLoop(
        b,
        {
          check: Steps.checkDatabaseStopped,
          fn: 'check-database',
          choice: Steps.databaseStopped,
          wait: Steps.waitDatabaseStop,
        },
        recordResult,
        { name: 'nodegroups', next: nodegroupsDown },
      ),
    ),
  );
  const statefulSetsDown = task(Steps.scaleStatefulSetsDown, 'scale-statefulsets-down').next(
    pollLoop(
      b,
      {
        check: Steps.checkStatefulSetsStopped,
        fn: 'check-statefulsets',
        choice: Steps.statefulSetsStopped,
        wait: Steps.waitStatefulSetsStop,
      },
      stopDatabase,
    ),
  );
  return task(Steps.suspendCronJobs, 'suspend-cronjobs').next(
    task(Steps.pauseScaledObjects, 'pause-keda')
      .next(task(Steps.scaleDown, 'scale-down'))
      .next(
        pollLoop(
          b,
          {
            check: Steps.checkDeploymentsStopped,
            fn: 'check-deployments',
            choice: Steps.deploymentsStopped,
            wait: Steps.waitDeploymentsStop,
          },
          statefulSetsDown,
        ),
      ),
  );
}

/** Up: (node groups,) the database, KEDA, StatefulSets, deployments, autoscalers, (Ingresses,) health, CronJobs. */
function upPhases(b: Builders): { up: Chain; nodegroupsUp: Chain } {
  const { task, recordResult } = b;
  const healthLoop = pollLoop(
    b,
    { check: Steps.checkHealth, fn: 'check-health', choice: Steps.appsHealthy, wait: Steps.waitHealth },
    task(Steps.resumeCronJobs, 'resume-cronjobs').next(recordResult),
  );
  // Environments with sleepingBackend: once the workloads are ready, the Ingresses serve them
  // again, before the health checks (which go through them).
  const ingressesUp = {
    name: 'ingresses',
    next: task(Steps.restoreIngresses, 'ingresses').next(healthLoop),
  } as const;
  // Kubernetes ignores an HPA while its target is at 0: wait until it acts again.
  const autoscalersLoop = pollLoop(
    b,
    {
      check: Steps.checkAutoscalers,
      fn: 'check-autoscalers',
      choice: Steps.autoscalersActive,
      wait: Steps.waitAutoscalers,
    },
    healthLoop,
    ingressesUp,
  );
  const deploymentsLoop = pollLoop(
    b,
    {
      check: Steps.checkDeploymentsAvailable,
      fn: 'check-deployments',
      choice: Steps.deploymentsAvailable,
      wait: Steps.waitDeploymentsStart,
    },
    healthLoop,
    [{ name: 'autoscalers', next: autoscalersLoop }, ingressesUp],
  );
  const statefulSetsUp = task(Steps.restoreStatefulSets, 'restore-statefulsets').next(
    pollLoop(
      b,
      {
        check: Steps.checkStatefulSetsReady,
        fn: 'check-statefulsets',
        choice: Steps.statefulSetsReady,
        wait: Steps.waitStatefulSetsStart,
      },
      task(Steps.restoreReplicas, 'restore-replicas').next(deploymentsLoop),
    ),
  );
  const up = task(Steps.startDatabase, 'start-database').next(
    databaseWait(
      b,
      Steps.databaseStartEvents,
      Steps.awaitDatabaseAvailable,
      pollLoop(
        b,
        {
          check: Steps.checkDatabaseAvailable,
          fn: 'check-database',
          choice: Steps.databaseAvailable,
          wait: Steps.waitDatabaseStart,
        },
        task(Steps.restoreScaledObjects, 'restore-keda').next(statefulSetsUp),
      ),
    ),
  );
  // Node groups first: the nodes are there before the database and the workloads come back.
  const nodegroupsUp = task(Steps.restoreNodegroups, 'restore-nodegroups').next(
    pollLoop(
      b,
      {
        check: Steps.checkNodegroupsReady,
        fn: 'check-nodegroups',
        choice: Steps.nodegroupsReady,
        wait: Steps.waitNodegroupsReady,
      },
      up,
    ),
  );
  return { up, nodegroupsUp };
}

/** The input check, Prepare, the dry-run branch and the choice of action: the start state. */
function entry(b: Builders, phases: { down: Chain; up: Chain; nodegroupsUp: Chain }): State {
  const { scope, task, recordResult } = b;
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

  // A wake's up may meet a running change (a down putting the environment to sleep, another
  // wake's up): Prepare says WakeWaitsForRun and decides again after a wait, up to a deadline
  // (WAKE_WAIT), instead of failing; then it is refused like any lock. A plain up fails at once.
  prepare.addRetry({
    errors: [ErrorNames.WakeWaitsForRun],
    interval: Duration.seconds(WAKE_WAIT.intervalSeconds),
    maxAttempts: WAKE_WAIT.attempts,
    backoffRate: 1,
    // Full jitter like every Task's retries: wakes waiting on one down do not come back together.
    jitterStrategy: JitterType.FULL,
    maxDelay: Duration.seconds(WAKE_WAIT.intervalSeconds),
  });

  const whichAction = new Choice(scope, Steps.whichAction);
  const wake = wakeSteps(b, () => whichAction);
  whichAction
    .when(wake.needed, wake.record)
    // Environments with sleepingBackend: the Ingresses point at the wake page before anything stops.
    .when(
      Condition.and(
        Condition.stringEquals('$.request.action', 'down'),
        Condition.booleanEquals('$.phases.ingresses', true),
      ),
      task(Steps.pointIngresses, 'ingresses').next(phases.down),
    )
    .when(Condition.stringEquals('$.request.action', 'down'), phases.down)
    .when(
      Condition.and(
        Condition.stringEquals('$.request.action', 'up'),
        Condition.booleanEquals('$.phases.nodegroups', true),
      ),
      phases.nodegroupsUp,
    )
    .when(Condition.stringEquals('$.request.action', 'up'), phases.up)
    .otherwise(recordResult);
  const recordIntent = task(Steps.recordIntent, 'record-intent').next(whichAction);
  // A wake (Prepare refuses it on a dry run) that runs no up ends here: joined (nothing
  // changed), or renewed (no run, no lock); its own up goes on to Record intent.
  const wakeOutcome = new Choice(scope, Steps.wakeInEffect)
    .when(
      Condition.stringEquals('$.wakeRun.outcome', 'joined'),
      new Succeed(scope, Steps.alreadyAwake, {
        comment: 'A wake in effect: this run answers with it ($.wakeRun.wake), nothing changed.',
      }),
    )
    .when(Condition.stringEquals('$.wakeRun.outcome', 'renew'), renewal(b))
    .otherwise(recordIntent);
  const dryRun = new Choice(scope, Steps.dryRun)
    .when(Condition.isPresent('$.wakeRun'), wakeOutcome)
    .when(
      Condition.booleanEquals('$.request.dryRun', true),
      task(Steps.planDryRun, 'plan-dry-run').next(new Succeed(scope, Steps.dryRunDone)),
    )
    .otherwise(recordIntent);

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
