// The one definition of the fleet workflow (ARCHITECTURE §9 "Fleet"): select environments
// (the item list goes to S3), then a Distributed Map with bounded concurrency that reads the
// items (ItemReader) and starts the environment workflow once per environment as its own
// child execution (startExecution.sync:2, named {customer}-{environment}-{action}-{build}
// cut to fit, plus a hash), exports the results to S3 (ResultWriter), then one summary record.
// Every state carries locations and counts only: 262,144 bytes per state input/output holds at
// any fleet size. One environment's failure or refusal never stops the others (its Catch makes
// it a result; ToleratedFailurePercentage 100 covers the rest). The local engine runs the same
// definition through cli/engine/distributed-map.ts.
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  Fail,
  IntegrationPattern,
  type IStateMachine,
  JsonPath,
  Pass,
  type State,
  StateMachine,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { type FleetFunctionId, FleetFunctions, FleetSteps } from '#core/steps';
import { LOCAL_ACCOUNT, LOCAL_REGION, renderLocal } from './render-local.ts';
import { lambdaTask, s3DistributedMap } from './states.ts';

export type FleetWorkflowFunctions = Record<FleetFunctionId, IFunction>;

export function buildFleetWorkflow(
  scope: Construct,
  fns: FleetWorkflowFunctions,
  environmentWorkflow: IStateMachine,
  /** The state buckets: the fleet's items and results live under fleet/ in them. */
  buckets: readonly IBucket[] = [],
): State {
  const refused = new Fail(scope, FleetSteps.refused, { errorPath: '$.Error', causePath: '$.Cause' });
  const select = lambdaTask(scope, FleetSteps.select, fns['fleet-select'], {
    payload: TaskInput.fromObject({
      input: JsonPath.objectAt('$'),
      executionId: JsonPath.stringAt('$$.Execution.Id'),
    }),
  });
  select.addCatch(refused, { errors: ['States.ALL'] });

  const child = new StepFunctionsStartExecution(scope, FleetSteps.runEnvironment, {
    stateMachine: environmentWorkflow,
    integrationPattern: IntegrationPattern.RUN_JOB,
    associateWithParent: true,
    name: JsonPath.stringAt('$.executionName'),
    input: TaskInput.fromObject({
      action: JsonPath.stringAt('$.input.action'),
      customer: JsonPath.stringAt('$.input.customer'),
      environment: JsonPath.stringAt('$.input.environment'),
      build: JsonPath.stringAt('$.input.build'),
      user: JsonPath.stringAt('$.input.user'),
      dryRun: JsonPath.objectAt('$.input.dryRun'),
    }),
    resultSelector: {
      status: JsonPath.stringAt('$.Status'),
      executionArn: JsonPath.stringAt('$.ExecutionArn'),
      startDate: JsonPath.objectAt('$.StartDate'),
      stopDate: JsonPath.objectAt('$.StopDate'),
    },
    resultPath: '$.run',
  });
  child.addRetry({
    errors: ['StepFunctions.ExecutionLimitExceededException', 'StepFunctions.SdkClientException'],
    interval: Duration.seconds(5),
    maxAttempts: 5,
    backoffRate: 2,
  });
  // A failed or refused environment is a result, not the end of the fleet.
  child.addCatch(new Pass(scope, FleetSteps.notSucceeded), { errors: ['States.ALL'], resultPath: '$.error' });

  const runEach = s3DistributedMap(scope, FleetSteps.runEach, {
    buckets,
    prefix: 'fleet/',
    label: 'Fleet',
    concurrency: { maxConcurrencyPath: '$.maxConcurrency' },
  });
  // Children start at the pace the account's RDS budget refills (Select writes each item's
  // startAt, fleet-capacity.ts): a thousand first requests in the same second would be
  // throttled by the hundreds. A time already past does not wait.
  const slot = new Wait(scope, FleetSteps.waitStart, { time: WaitTime.timestampPath('$.startAt') });
  runEach.itemProcessor(slot.next(child));

  // `$` holds Select's plan and the map run's output (where the results are): nothing twice.
  const record = lambdaTask(scope, FleetSteps.record, fns['fleet-record'], {
    payload: TaskInput.fromObject({
      plan: JsonPath.objectAt('$'),
      executionId: JsonPath.stringAt('$$.Execution.Id'),
    }),
  });
  const anyFailed = new Choice(scope, FleetSteps.anyFailed)
    .when(
      Condition.numberGreaterThan('$.counts.failed', 0),
      new Fail(scope, FleetSteps.failed, {
        error: 'FleetHadFailures',
        cause:
          'at least one environment failed: see the fleet summary record and the failed child executions',
      }),
    )
    .otherwise(new Succeed(scope, FleetSteps.done));

  select.next(runEach).next(record).next(anyFailed);
  return select;
}

/** The fleet ASL without a deployment, for the local engine (placeholder ARNs). */
export function renderFleetDefinition(): Record<string, unknown> {
  return renderLocal(
    'RenderFleet',
    Object.keys(FleetFunctions) as FleetFunctionId[],
    'Fleet workflow',
    (stack, fns) =>
      buildFleetWorkflow(
        stack,
        fns,
        StateMachine.fromStateMachineArn(
          stack,
          'EnvironmentWorkflow',
          `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:cim-environment`,
        ),
      ),
  );
}
