// Where an RDS event goes when it cannot be handled: EventBridge delivers it asynchronously
// (to the database-event function and to the guard's state machine), so a failure there
// never reaches a Retry/Catch. One encrypted dead-letter queue takes what EventBridge could
// not deliver and what the function's asynchronous invocation gave up on, and an alarm on it
// notifies (a lost event means a wait idles until its fallback poll, or a guard re-stop is
// late until the daily sweep).
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * SSE-SQS rather than the customer key of stack.kms: EventBridge and Lambda write to it with
 * no key policy to extend (an imported key's policy cannot be), and it holds only RDS event
 * envelopes (identifiers and event ids, no secrets). Kept 14 days, the most SQS allows.
 */
export function eventDeadLetterQueue(scope: Construct): IQueue {
  return new Queue(scope, 'EventFailures', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}

/** The function's asynchronous invocations that fail after Lambda's retries go to the queue. */
export function withDeadLetterQueue(fn: NodejsFunction, queue: IQueue): void {
  // DeadLetterConfig on the function itself (what checkov's CKV_AWS_116 looks for), with
  // sqs:SendMessage on this queue only for the function's role.
  (fn.node.defaultChild as CfnFunction).deadLetterConfig = { targetArn: queue.queueArn };
  queue.grantSendMessages(fn);
}

/** One message in the queue is one RDS event lost: alarm at once. */
export function eventFailuresAlarm(scope: Construct, queue: IQueue): Alarm {
  return new Alarm(scope, 'EventFailuresAlarm', {
    alarmDescription:
      "An RDS event could not be handled: see the messages in the stack's EventFailures queue (a database wait polls instead; the guard's daily sweep catches a missed re-stop).",
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}
