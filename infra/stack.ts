// The deployed form: one Lambda function per handler (bundled with the local esbuild),
// the state bucket, least-privilege IAM scoped to the configured environments, the
// workflow state machine with its log group, schedules, an alarm and optional EKS
// access entries. No business logic here.
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, TimeZone } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { type Config, type Environment, listEnvironments, resolveEnvironment } from '#core/config';
import { type TaskFunctionId, TaskFunctions } from '#core/steps';
import { buildWorkflow, type WorkflowFunctions } from './workflow.ts';

/** What each function touches; IAM is granted from this and nothing else. */
const NEEDS: Record<
  TaskFunctionId,
  { s3?: boolean; rdsDescribe?: boolean; rdsStartStop?: boolean; eks?: boolean }
> = {
  prepare: { s3: true },
  'snapshot-pre-state': { s3: true, rdsDescribe: true, eks: true },
  'plan-dry-run': {},
  'scale-down': { eks: true },
  'stop-database': { rdsDescribe: true, rdsStartStop: true },
  'start-database': { rdsDescribe: true, rdsStartStop: true },
  'check-database': { rdsDescribe: true, rdsStartStop: true },
  'restore-replicas': { eks: true },
  'check-deployments': { eks: true },
  'check-health': {},
  'record-result': { s3: true, rdsDescribe: true, eks: true },
  'record-failure': { s3: true, rdsDescribe: true, eks: true },
};

/** Lambda environment variables are limited to 4 KB in total. */
const MAX_CONFIG_BYTES = 3500;

export interface CimStackProps extends StackProps {
  config: Config;
  configSource: string;
  /** Directory holding the handler files; the default is the repository's. */
  handlersDir: string;
}

export class CimStack extends Stack {
  readonly stateMachine: StateMachine;
  readonly functions: WorkflowFunctions;

  constructor(scope: Construct, id: string, props: CimStackProps) {
    super(scope, id, props);
    const { config } = props;
    const envs: Environment[] = listEnvironments(config).map((key) => {
      const [c = '', e = ''] = key.split('/');
      return resolveEnvironment(config, c, e, props.configSource);
    });
    const configJson = JSON.stringify(config);
    if (Buffer.byteLength(configJson) > MAX_CONFIG_BYTES) {
      throw new Error(
        `${props.configSource} is ${Buffer.byteLength(configJson)} bytes as JSON; Lambda environment variables hold ${MAX_CONFIG_BYTES}. Move repeated settings under "defaults".`,
      );
    }

    const buckets = new Map<string, IBucket>();
    for (const name of new Set(envs.map((e) => e.bucket))) {
      buckets.set(
        name,
        config.stack.createBucket
          ? (new Bucket(this, `StateBucket-${name}`, {
              bucketName: name,
              encryption: BucketEncryption.S3_MANAGED,
              versioned: true,
              enforceSSL: true,
              minimumTLSVersion: 1.2,
              blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
              objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
              removalPolicy: RemovalPolicy.RETAIN,
            }) as IBucket)
          : Bucket.fromBucketName(this, `StateBucket-${name}`, name),
      );
    }

    const fns = {} as Record<TaskFunctionId, NodejsFunction>;
    for (const id of Object.keys(TaskFunctions) as TaskFunctionId[]) {
      const fn = new NodejsFunction(this, `Fn-${id}`, {
        entry: `${props.handlersDir}/${id}.ts`,
        handler: 'handler',
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: 256,
        timeout: Duration.seconds(60),
        description: `customer-infra-manager: ${TaskFunctions[id].join(', ')}`,
        environment: {
          CIM_CONFIG: configJson,
          POWERTOOLS_SERVICE_NAME: 'customer-infra-manager',
          NODE_OPTIONS: '--enable-source-maps',
        },
        logGroup: new LogGroup(this, `Logs-${id}`, {
          retention: RetentionDays.THREE_MONTHS,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        bundling: {
          format: OutputFormat.ESM,
          target: 'node22',
          minify: true,
          sourceMap: true,
          mainFields: ['module', 'main'],
          externalModules: ['@aws-sdk/*'],
          // ESM bundles of CommonJS dependencies still call require().
          banner:
            "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        },
      });
      this.grant(fn, NEEDS[id], envs, buckets);
      fns[id] = fn;
    }
    this.functions = fns;

    const logGroup = new LogGroup(this, 'WorkflowLogs', {
      logGroupName: `/aws/vendedlogs/states/customer-infra-manager-${id}`,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new StateMachine(this, 'Workflow', {
      stateMachineName: `customer-infra-manager-${id}`,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(buildWorkflow(this, fns)),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
    });

    new Alarm(this, 'WorkflowFailures', {
      alarmDescription:
        'An environment up/down failed: see the failed execution and the action record in S3.',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    for (const s of config.schedules) {
      for (const key of s.environments) {
        const [customer, environment] = key.split('/');
        new Schedule(this, `Schedule-${s.name}-${customer}-${environment}`, {
          description: `${s.action} ${key} (${s.name})`,
          schedule: ScheduleExpression.expression(`cron(${s.cron})`, TimeZone.of(s.timeZone)),
          target: new StepFunctionsStartExecution(this.stateMachine, {
            input: ScheduleTargetInput.fromObject({
              action: s.action,
              customer,
              environment,
              user: `schedule:${s.name}`,
              dryRun: false,
            }),
          }),
        });
      }
    }

    if (config.stack.eksAccessEntry) {
      const byCluster = new Map<string, Set<string>>();
      for (const e of envs) {
        const ns = byCluster.get(e.cluster) ?? new Set<string>();
        for (const d of e.deployments) ns.add(d.namespace);
        byCluster.set(e.cluster, ns);
      }
      for (const [cluster, namespaces] of byCluster) {
        for (const id of Object.keys(NEEDS) as TaskFunctionId[]) {
          if (!NEEDS[id].eks) continue;
          new CfnAccessEntry(this, `Access-${cluster}-${id}`, {
            clusterName: cluster,
            principalArn: fns[id].role?.roleArn as string,
            type: 'STANDARD',
            accessPolicies: [
              {
                policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy',
                accessScope: { type: 'namespace', namespaces: [...namespaces].sort() },
              },
            ],
          });
        }
      }
    }

    new CfnOutput(this, 'StateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description: 'cim --remote --state-machine-arn',
    });
    new CfnOutput(this, 'StateBuckets', { value: [...buckets.keys()].join(',') });
  }

  private grant(
    fn: NodejsFunction,
    needs: (typeof NEEDS)[TaskFunctionId],
    envs: Environment[],
    buckets: Map<string, IBucket>,
  ) {
    const arn = (service: string, region: string, resource: string) =>
      `arn:${this.partition}:${service}:${region}:${this.account}:${resource}`;
    if (needs.s3) {
      for (const [name, bucket] of buckets) {
        const prefixes = envs.filter((e) => e.bucket === name).map((e) => `${e.keyPrefix}/`);
        fn.addToRolePolicy(
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
            resources: prefixes.map((p) => bucket.arnForObjects(`${p}*`)),
          }),
        );
        fn.addToRolePolicy(
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: ['s3:ListBucket'],
            resources: [bucket.bucketArn],
            conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
          }),
        );
      }
    }
    const instances = envs
      .filter((e) => e.database.kind === 'instance')
      .map((e) => arn('rds', e.region, `db:${e.database.identifier}`));
    const clusters = envs
      .filter((e) => e.database.kind === 'cluster')
      .map((e) => arn('rds', e.region, `cluster:${e.database.identifier}`));
    const rds = (actions: string[], resources: string[]) => {
      if (resources.length)
        fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources }));
    };
    if (needs.rdsDescribe) {
      rds(['rds:DescribeDBInstances'], instances);
      rds(['rds:DescribeDBClusters'], clusters);
    }
    if (needs.rdsStartStop) {
      rds(['rds:StartDBInstance', 'rds:StopDBInstance'], instances);
      rds(['rds:StartDBCluster', 'rds:StopDBCluster'], clusters);
    }
    if (needs.eks) {
      const arns = [...new Set(envs.map((e) => arn('eks', e.region, `cluster/${e.cluster}`)))];
      fn.addToRolePolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['eks:DescribeCluster'], resources: arns }),
      );
    }
  }
}
