// A workflow as deployed: its log group (all events, with execution data, kept a year), the
// STANDARD state machine with X-Ray tracing and the customer key when there is one, and an
// alarm on failed executions. The environment, fleet and guard workflows each get one.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  CustomerManagedEncryptionConfiguration,
  DefinitionBody,
  type IChainable,
  LogLevel,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

export interface WorkflowStateMachineProps {
  /** Construct ids, children of `scope` (the stack): they fix the CloudFormation logical ids. */
  ids: { stateMachine: string; logs: string; alarm: string };
  /** The state machine's name; its log group is /aws/vendedlogs/states/<name>. */
  name: string;
  definition: IChainable;
  timeout: Duration;
  key: IKey | undefined;
  alarmDescription: string;
}

export interface WorkflowStateMachine {
  stateMachine: StateMachine;
  logGroup: LogGroup;
  alarm: Alarm;
}

export function workflowStateMachine(scope: Construct, p: WorkflowStateMachineProps): WorkflowStateMachine {
  const logGroup = new LogGroup(scope, p.ids.logs, {
    ...(p.key ? { encryptionKey: p.key } : {}),
    logGroupName: `/aws/vendedlogs/states/${p.name}`,
    retention: RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stateMachine = new StateMachine(scope, p.ids.stateMachine, {
    stateMachineName: p.name,
    stateMachineType: StateMachineType.STANDARD,
    definitionBody: DefinitionBody.fromChainable(p.definition),
    timeout: p.timeout,
    tracingEnabled: true,
    ...(p.key ? { encryptionConfiguration: new CustomerManagedEncryptionConfiguration(p.key) } : {}),
    logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
  });
  const alarm = new Alarm(scope, p.ids.alarm, {
    alarmDescription: p.alarmDescription,
    metric: stateMachine.metricFailed({ period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  return { stateMachine, logGroup, alarm };
}
