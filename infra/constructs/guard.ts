// The seven-day guard in the stack: its three functions (only guard-step touches S3 and
// RDS), its state machine (infra/workflows/guard.ts), an EventBridge rule per database kind
// on the RDS events for the configured databases only, a daily sweep schedule, and an
// alarm on failed guard runs.
import { Duration } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { type GuardFunctionId, GuardFunctions } from '#core/steps';
import type { ScopedGrants } from '../iam/grants.ts';
import { GUARD_NEEDS } from '../iam/needs.ts';
import type { IamScope } from '../iam/scope.ts';
import { buildGuardWorkflow, guardEventPattern } from '../workflows/guard.ts';
import type { MakeFunction } from './function.ts';
import type { ScheduleDelivery } from './schedule-delivery.ts';
import { workflowStateMachine } from './workflow-state-machine.ts';

/** When the daily sweep runs (UTC): after the night's downs, before anyone looks. */
export const GUARD_SWEEP_CRON = 'cron(30 5 * * ? *)';

export interface Guard {
  stateMachine: StateMachine;
  functions: Record<GuardFunctionId, NodejsFunction>;
  rules: Rule[];
  alarm: Alarm;
}

export function addGuard(
  scope: Construct,
  id: string,
  o: {
    rds: IamScope['rds'];
    /** The accounts the configured databases live in: the rules match only their events. */
    accounts: readonly string[];
    /** Where an event EventBridge cannot deliver to the state machine lands. */
    deadLetterQueue: IQueue;
    makeFunction: MakeFunction;
    grants: ScopedGrants;
    /** stack.kms: the customer key for the guard's log group and state machine. */
    key?: IKey | undefined;
    /** The state buckets: the guard's item lists and map run results live under guard/. */
    buckets?: readonly IBucket[];
    /** Maximum event age, retries and dead-letter queue of the daily sweep (schedule-delivery.ts). */
    scheduleDelivery?: ScheduleDelivery;
  },
): Guard {
  const buckets = o.buckets ?? [];
  const functions = {} as Record<GuardFunctionId, NodejsFunction>;
  for (const fid of Object.keys(GuardFunctions) as GuardFunctionId[]) {
    functions[fid] = o.makeFunction(fid);
    o.grants.grant(functions[fid], GUARD_NEEDS[fid]);
  }
  // Select writes the item list, the summary reads the map run's results: under guard/ only.
  const guardObjects = buckets.map((b) => b.arnForObjects('guard/*'));
  if (guardObjects.length) {
    functions['guard-select'].addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:PutObject'], resources: guardObjects }),
    );
    functions['guard-summary'].addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: guardObjects }),
    );
  }
  const { stateMachine, alarm } = workflowStateMachine(scope, {
    ids: { stateMachine: 'GuardWorkflow', logs: 'GuardWorkflowLogs', alarm: 'GuardFailures' },
    name: `customer-infra-manager-guard-${id}`,
    definition: buildGuardWorkflow(scope, functions, buckets),
    timeout: Duration.hours(6),
    key: o.key,
    alarmDescription:
      'The seven-day guard could not keep a parked database stopped: see the guard execution.',
  });
  const rules = guardEventPattern(o.rds, o.accounts).map(
    (eventPattern, i) =>
      new Rule(scope, `GuardRdsEvents${i}`, {
        description: 'A configured database that AWS starts after 7 days stopped: start the seven-day guard',
        eventPattern,
        targets: [
          new SfnStateMachine(stateMachine, {
            retryAttempts: 2,
            maxEventAge: Duration.hours(1),
            deadLetterQueue: o.deadLetterQueue,
          }),
        ],
      }),
  );
  new Schedule(scope, 'GuardDailySweep', {
    description: 'Seven-day guard: re-stop every parked environment whose database is not stopped',
    schedule: ScheduleExpression.expression(GUARD_SWEEP_CRON),
    target: new StepFunctionsStartExecution(stateMachine, {
      ...o.scheduleDelivery,
      input: ScheduleTargetInput.fromObject({ sweep: true }),
    }),
  });
  return { stateMachine, functions, rules, alarm };
}
