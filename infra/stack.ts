// The deployed form: one Lambda function per handler (bundled with the local esbuild),
// the state bucket, least-privilege IAM scoped to the configured environments, the
// workflow state machine with its log group, schedules, an alarm and optional EKS
// access entries. No business logic here.
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  TimeZone,
  Validations,
} from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
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
import { BUNDLE } from './bundling.ts';
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
  /** Key prefixes of the environments, by bucket name. */
  private readonly prefixes = new Map<string, string[]>();

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

    for (const e of envs)
      this.prefixes.set(e.bucket, [...(this.prefixes.get(e.bucket) ?? []), `${e.keyPrefix}/`]);
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
      // Own role instead of AWSLambdaBasicExecutionRole: logs only to this function's group.
      const logGroup = new LogGroup(this, `Logs-${id}`, {
        retention: RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const role = new Role(this, `Role-${id}`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `customer-infra-manager ${id}: only what this step needs`,
      });
      role.addToPolicy(
        new PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      const fn = new NodejsFunction(this, `Fn-${id}`, {
        role,
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
        logGroup,
        bundling: {
          format: OutputFormat.ESM,
          target: BUNDLE.target,
          minify: BUNDLE.minify,
          sourceMap: true,
          mainFields: [...BUNDLE.mainFields],
          externalModules: [...BUNDLE.external],
          banner: BUNDLE.banner,
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

    this.acknowledgeNagFindings(buckets);

    new CfnOutput(this, 'StateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description: 'cim --remote --state-machine-arn',
    });
    new CfnOutput(this, 'StateBuckets', { value: [...buckets.keys()].join(',') });
  }

  /** cdk-nag (AwsSolutions) findings that are deliberate, each with its reason. */
  private acknowledgeNagFindings(buckets: Map<string, IBucket>) {
    const v = Validations.of(this);
    v.acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason:
        'nodejs22.x on purpose: the local engine (aws-local-stepfunctions) and the tests run on Node 22, so the Lambdas run what is tested.',
    });
    v.acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        'The state bucket is an audit trail of small JSON records, versioned; use CloudTrail data events for access auditing instead of server access logs.',
    });
    v.acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:*LogDelivery*) and X-Ray (xray:Put*) only accept "*" as resource.',
    });
    for (const fn of Object.values(this.functions)) {
      v.acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
        reason:
          'The state machine may invoke the versions of its own functions (lambda:InvokeFunction on the function ARN and ARN:*).',
      });
    }
    for (const [name, bucket] of buckets) {
      const cfn = bucket.node.defaultChild;
      const arn = cfn ? `<${this.getLogicalId(cfn as never)}.Arn>` : `arn:<AWS::Partition>:s3:::${name}`;
      for (const prefix of this.prefixes.get(name) ?? []) {
        v.acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::${arn}/${prefix}*]`,
          reason:
            "S3 object access is scoped to one environment's key prefix: each build writes new keys under it.",
        });
      }
    }
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
        const prefixes = this.prefixes.get(name) ?? [];
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
