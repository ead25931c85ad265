// An execution stopped from the console, timed out, or failed where no Catch catches never
// runs "Record failure": a rule on the environment state machine's status changes
// (ABORTED, TIMED_OUT, FAILED) calls a small function that records the run as interrupted
// and releases its lock. It reads and writes only actions.json (latest and history) and
// lock.json under the environments' prefixes: no Kubernetes, no RDS. A delivery that
// fails is retried by EventBridge, then by Lambda's asynchronous retries; what is left
// lands in an encrypted dead-letter queue (kept 14 days).
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ENDED_STATUSES, STATUS_CHANGE_DETAIL_TYPE } from '#core/run/execution-ended';
import { EXECUTION_STATUS_FUNCTION } from '#core/steps';
import type { ScopedGrants } from '../iam/grants.ts';
import type { MakeFunction } from './function.ts';

export interface ExecutionStatus {
  function: NodejsFunction;
  rule: Rule;
  deadLetters: Queue;
}

export function addExecutionStatus(
  scope: Construct,
  o: { makeFunction: MakeFunction; grants: ScopedGrants; environmentWorkflow: IStateMachine },
): ExecutionStatus {
  const fn = o.makeFunction(EXECUTION_STATUS_FUNCTION);
  for (const { bucket, prefixes } of o.grants.iam.s3) {
    const bucketArn = o.grants.bucketArn(bucket);
    const under = (suffix: string) => prefixes.map((p) => `${bucketArn}/${p}*${suffix}`);
    o.grants.addWildcards([...under('actions.json'), ...under('lock.json')]);
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
  const deadLetters = new Queue(scope, 'ExecutionStatusDeadLetters', {
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
  const rule = new Rule(scope, 'ExecutionStatusEvents', {
    description:
      'An environment execution ended ABORTED, TIMED_OUT or FAILED: record it and release its lock if its Catch did not',
    eventPattern: {
      source: ['aws.states'],
      detailType: [STATUS_CHANGE_DETAIL_TYPE],
      account: [Stack.of(scope).account],
      detail: {
        stateMachineArn: [o.environmentWorkflow.stateMachineArn],
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
