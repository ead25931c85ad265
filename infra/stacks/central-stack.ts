// The deployed form: one Lambda function per handler (bundled with the local esbuild),
// the state bucket, least-privilege IAM scoped to the configured environments, the
// workflow state machine with its log group, schedules, an alarm and optional EKS
// access entries. No business logic here: each part is a construct in infra/constructs/,
// created with the stack as its scope so that every CloudFormation logical id stays as deployed.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Rule } from 'aws-cdk-lib/aws-events';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { Config } from '#core/config/schema';
import { CimError, ErrorNames } from '#core/errors';
import type { FleetFunctionId } from '#core/steps';
import { buildDashboard } from '../constructs/dashboard.ts';
import { addDatabaseEvents } from '../constructs/database-events.ts';
import { addEksAccessEntries } from '../constructs/eks-access.ts';
import {
  addEnvironmentFunctions,
  addEnvironmentWorkflow,
  environmentWorkflowName,
} from '../constructs/environment-workflow.ts';
import { eventDeadLetterQueue, eventFailuresAlarm } from '../constructs/event-failures.ts';
import { addExecutionStatus } from '../constructs/execution-status.ts';
import { addFleet, addFleetSchedules } from '../constructs/fleet.ts';
import { deployedConfigFile, functionFactory } from '../constructs/function.ts';
import { addGuard, type Guard } from '../constructs/guard.ts';
import { addNotifications } from '../constructs/notifications.ts';
import {
  acknowledgeKeyFindings,
  customerKey,
  functionNetwork,
  grantAssumeTargetRoles,
} from '../constructs/organization.ts';
import { addDeployedReport, type DeployedReport } from '../constructs/report.ts';
import { stateBuckets } from '../constructs/state-buckets.ts';
import { addWakeEndpoint, type WakeEndpoint } from '../constructs/wake-endpoint.ts';
import { addWakeTtl, type WakeTtl } from '../constructs/wake-ttl.ts';
import { ScopedGrants } from '../iam/grants.ts';
import { GUARD_NEEDS, NEEDS } from '../iam/needs.ts';
import { type IamScope, iamScope, scopedEnvironments } from '../iam/scope.ts';
import { acknowledgeNagFindings, acknowledgeWakeEndpointNagFindings } from '../nag.ts';
import { acknowledgeScanFindings } from '../scan-acknowledgements.ts';
import type { WorkflowFunctions } from '../workflows/environment.ts';

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
  /** The function that rebuilds report/ in the state buckets after each fleet run, and its rule. */
  readonly report: DeployedReport;
  /** The function a wake's one-time schedule invokes, its schedule group and the scheduler's role. */
  readonly wakeTtl: WakeTtl;
  /** The deployed wake page (its HTTP API and function), when the configuration has a wake section. */
  readonly wakeEndpoint: WakeEndpoint | undefined;

  constructor(scope: Construct, id: string, props: CimStackProps) {
    super(scope, id, props);
    // One statement per action set, many resources: without it the environment workflow's role
    // (one lambda:InvokeFunction statement per Task function, 26 of them) spills into an extra
    // managed policy, one more per-role quota to watch at 2,000 environments.
    this.node.setContext('@aws-cdk/aws-iam:minimizePolicies', true);
    const { config } = props;
    const scoped = scopedEnvironments(config, props.configSource);
    const envs = scoped.map((s) => s.env);
    try {
      this.scope = iamScope(scoped);
    } catch (err) {
      throw new CimError(ErrorNames.ConfigInvalid, `${props.configSource}: ${(err as Error).message}`);
    }
    const deployed = deployedConfigFile(this, config);
    this.configDigest = deployed.digest;

    const key = customerKey(this, config);
    const network = functionNetwork(this, config);
    const buckets = stateBuckets(this, config, envs, key);
    const bucketList = [...buckets.values()];
    const grants = new ScopedGrants(this, this.scope, buckets);
    const makeFunction = functionFactory(this, {
      handlersDir: props.handlersDir,
      configDigest: deployed.digest,
      configFile: deployed.file,
      key,
      network,
    });

    const fns = addEnvironmentFunctions({ makeFunction, grants });
    this.functions = fns;
    grantAssumeTargetRoles(fns, NEEDS, config);
    // The accounts the configured databases live in: RDS event rules match only these.
    const databaseAccounts = [...new Set(envs.map((e) => e.target?.account ?? this.account))].sort();
    this.eventFailures = eventDeadLetterQueue(this);
    this.databaseEvents = addDatabaseEvents(this, {
      functions: fns,
      makeFunction,
      grants,
      accounts: databaseAccounts,
      eventFailures: this.eventFailures,
    });
    const environment = addEnvironmentWorkflow(this, id, { functions: fns, key });
    this.stateMachine = environment.stateMachine;
    this.executionStatus = addExecutionStatus(this, {
      makeFunction,
      grants,
      environmentWorkflow: this.stateMachine,
    });

    const fleet = addFleet(this, id, {
      config,
      makeFunction,
      buckets: bucketList,
      environmentWorkflow: this.stateMachine,
      key,
    });
    this.fleetFunctions = fleet.functions;
    this.fleetStateMachine = fleet.stateMachine;
    const schedules = addFleetSchedules(this, config, this.fleetStateMachine);
    this.report = addDeployedReport(this, {
      makeFunction,
      grants,
      fleetWorkflow: this.fleetStateMachine,
      eventFailures: this.eventFailures,
    });
    this.wakeTtl = addWakeTtl(this, {
      makeFunction,
      grants,
      environmentWorkflow: this.stateMachine,
      environmentWorkflowName: environmentWorkflowName(id),
      scheduler: fns['wake-run'],
    });
    this.wakeEndpoint = config.wake
      ? addWakeEndpoint(this, {
          settings: config.wake,
          makeFunction,
          grants,
          environmentWorkflow: this.stateMachine,
          key,
        })
      : undefined;

    if (config.stack.eksAccessEntry) addEksAccessEntries(this, envs, fns);

    this.guard = addGuard(this, id, {
      rds: this.scope.rds,
      accounts: databaseAccounts,
      deadLetterQueue: this.eventFailures,
      makeFunction,
      grants,
      key,
      buckets: bucketList,
      scheduleDelivery: schedules.delivery,
    });
    // The guard re-stops databases in target accounts too: its step assumes their role, as
    // the environment steps do (the target stacks trust it by its role path).
    grantAssumeTargetRoles(this.guard.functions, GUARD_NEEDS, config);

    this.notifications = addNotifications(this, {
      topicArn: config.stack.notificationTopicArn,
      publishers: [
        fns['record-failure'],
        fleet.functions['fleet-record'],
        this.guard.functions['guard-step'],
      ],
      alarms: [
        environment.alarm,
        fleet.alarm,
        this.guard.alarm,
        eventFailuresAlarm(this, this.eventFailures),
        schedules.alarm,
      ],
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

    this.acknowledgeFindings(key, bucketList, grants.wildcardResources);
    this.addOutputs(buckets.keys());
  }

  /** The scanners' findings that are deliberate (nag.ts, organization.ts, scan-acknowledgements.ts). */
  private acknowledgeFindings(
    key: IKey | undefined,
    buckets: readonly IBucket[],
    wildcards: Iterable<string>,
  ) {
    acknowledgeNagFindings(this, {
      functions: [
        ...Object.values(this.functions),
        this.databaseEvents.function,
        this.executionStatus.function,
        this.report.function,
        this.wakeTtl.function,
        ...(this.wakeEndpoint ? [this.wakeEndpoint.function] : []),
        ...Object.values(this.fleetFunctions),
        ...Object.values(this.guard.functions),
      ],
      environmentWorkflow: this.stateMachine,
      fleetWorkflow: this.fleetStateMachine,
      guardWorkflow: this.guard.stateMachine,
      buckets,
      wildcardResources: wildcards,
      wakeScheduleGroup: this.wakeTtl.groupName,
    });
    if (this.wakeEndpoint) acknowledgeWakeEndpointNagFindings(this, this.stateMachine);
    acknowledgeKeyFindings(this, key);
    acknowledgeScanFindings(this);
  }

  private addOutputs(bucketNames: Iterable<string>) {
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
    new CfnOutput(this, 'StateBuckets', { value: [...bucketNames].join(',') });
  }
}
