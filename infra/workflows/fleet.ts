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
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  DistributedMap,
  Fail,
  IntegrationPattern,
  type IStateMachine,
  JsonPath,
  Pass,
  ResultWriterV2,
  S3JsonItemReader,
  type State,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { type FleetFunctionId, FleetFunctions, FleetSteps } from '#core/steps';
import { LOCAL_ACCOUNT, LOCAL_REGION, renderLocal } from './render-local.ts';
import { lambdaTask } from './states.ts';

export type FleetWorkflowFunctions = Record<FleetFunctionId, IFunction>;

/** The S3 access of a Distributed Map's reader and writer, scoped to one prefix of the given buckets. */
export function mapS3Statements(buckets: readonly IBucket[], prefix: string): PolicyStatement[] {
  if (buckets.length === 0) return [];
  return [
    new PolicyStatement({
      effect: Effect.ALLOW,
      // ItemReader reads the item list; ResultWriter writes (multipart for large files) the results.
      actions: ['s3:GetObject', 's3:PutObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      resources: buckets.map((b) => b.arnForObjects(`${prefix}*`)),
    }),
  ];
}

/**
 * CDK grants a reader or writer with a bucket *path* on every bucket ("*"); these grant the
 * given statements instead (the state buckets' fleet/ or guard/ prefix).
 */
export class ScopedJsonItemReader extends S3JsonItemReader {
  private readonly scoped: PolicyStatement[];
  constructor(props: ConstructorParameters<typeof S3JsonItemReader>[0], statements: PolicyStatement[]) {
    super(props);
    this.scoped = statements;
  }
  override providePolicyStatements(): PolicyStatement[] {
    return this.scoped;
  }
}
export class ScopedResultWriter extends ResultWriterV2 {
  private readonly scoped: PolicyStatement[];
  constructor(props: ConstructorParameters<typeof ResultWriterV2>[0], statements: PolicyStatement[]) {
    super(props);
    this.scoped = statements;
  }
  override providePolicyStatements(): PolicyStatement[] {
    return this.scoped;
  }
}

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

  const runEach = new DistributedMap(scope, FleetSteps.runEach, {
    itemReader: new ScopedJsonItemReader(
      {
        bucketNamePath: JsonPath.stringAt('$.itemReader.bucket'),
        key: JsonPath.stringAt('$.itemReader.key'),
      },
      [],
    ),
    resultWriterV2: new ScopedResultWriter(
      {
        bucketNamePath: JsonPath.stringAt('$.resultWriter.bucket'),
        prefix: JsonPath.stringAt('$.resultWriter.prefix'),
      },
      mapS3Statements(buckets, 'fleet/'),
    ),
    maxConcurrencyPath: '$.maxConcurrency',
    // Every environment is tried: a child's failure is a result (its Catch), and nothing else stops the run.
    toleratedFailurePercentage: 100,
    mapExecutionType: StateMachineType.STANDARD,
    label: 'Fleet',
    resultPath: '$.results',
  });
  // CDK renders ResultWriterV2 only under this feature flag: set on the Map itself, so the
  // definition is the same whatever the app's context.
  runEach.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
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
