// The one definition of the fleet workflow (ARCHITECTURE §9 "Fleet"): select environments,
// then a Map with bounded concurrency that starts the environment workflow once per
// environment as its own child execution (startExecution.sync:2, named
// {customer}-{environment}-{action}-{build}), then one summary record. One environment's
// failure or refusal never stops the others. The local engine runs the same definition: the
// child Task is mapped to a local run of the environment workflow.
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Choice,
  Condition,
  Fail,
  IntegrationPattern,
  type IStateMachine,
  JsonPath,
  Map as MapState,
  Pass,
  type State,
  StateMachine,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { type FleetFunctionId, FleetFunctions, FleetSteps } from '#core/steps';
import { addTaskRetries, LOCAL_ACCOUNT, LOCAL_REGION, renderLocal } from './workflow.ts';

export type FleetWorkflowFunctions = Record<FleetFunctionId, IFunction>;

export function buildFleetWorkflow(
  scope: Construct,
  fns: FleetWorkflowFunctions,
  environmentWorkflow: IStateMachine,
): State {
  const lambda = (name: string, fn: IFunction, payload: TaskInput) => {
    const t = new LambdaInvoke(scope, name, {
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      payload,
    });
    return addTaskRetries(t);
  };

  const refused = new Fail(scope, FleetSteps.refused, { errorPath: '$.Error', causePath: '$.Cause' });
  const select = lambda(
    FleetSteps.select,
    fns['fleet-select'],
    TaskInput.fromObject({
      input: JsonPath.objectAt('$'),
      executionId: JsonPath.stringAt('$$.Execution.Id'),
    }),
  );
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

  const runEach = new MapState(scope, FleetSteps.runEach, {
    itemsPath: '$.items',
    maxConcurrencyPath: '$.maxConcurrency',
    resultPath: '$.results',
  });
  runEach.itemProcessor(child);

  const record = lambda(
    FleetSteps.record,
    fns['fleet-record'],
    TaskInput.fromObject({
      plan: JsonPath.objectAt('$'),
      results: JsonPath.objectAt('$.results'),
      executionId: JsonPath.stringAt('$$.Execution.Id'),
    }),
  );
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
