// How EventBridge Scheduler delivers a tick to a state machine (issue 15 item 3). Scheduler's
// default retries a failed StartExecution for 24 h (185 attempts) and then drops the tick
// without a trace: a 20:00 down could start the next morning. Every schedule of the stack
// (the fleet schedules and the guard's daily sweep) gets instead:
//  - a maximum event age of 1 h: a tick that could not start its run within the hour is not
//    run later (Select also refuses a late tick by its scheduled time);
//  - a retry policy of at most SCHEDULE_RETRY_ATTEMPTS retries inside that hour (Scheduler
//    backs off between them);
//  - a dead-letter queue that keeps each undelivered tick with Scheduler's error: encrypted
//    with SQS-managed keys (SSE-SQS, which needs no key policy for the scheduler's role), TLS
//    only, kept 14 days; and an alarm on it, so a night that did not start is announced.
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export const SCHEDULE_MAX_EVENT_AGE = Duration.hours(1);
export const SCHEDULE_RETRY_ATTEMPTS = 10;

/** The delivery props every schedule target of the stack takes. */
export interface ScheduleDelivery {
  readonly deadLetterQueue: IQueue;
  readonly maxEventAge: Duration;
  readonly retryAttempts: number;
}

export function addScheduleDelivery(scope: Construct): { delivery: ScheduleDelivery; alarm: Alarm } {
  const queue = new Queue(scope, 'ScheduleDeadLetters', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(Stack.of(scope)).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SQS3',
    reason:
      "The schedule dead-letter queue is itself a dead-letter queue (the schedules' DeadLetterConfig, which cdk-nag does not follow).",
  });
  const alarm = new Alarm(scope, 'ScheduleDeliveryFailures', {
    alarmDescription:
      'A schedule could not start its run within an hour: the tick and the error are in the schedule dead-letter queue.',
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  return {
    delivery: {
      deadLetterQueue: queue,
      maxEventAge: SCHEDULE_MAX_EVENT_AGE,
      retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
    },
    alarm,
  };
}
