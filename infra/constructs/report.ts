// The deployed report (issue 18): a rule on the fleet state machine's status changes (every
// end: SUCCEEDED, FAILED, TIMED_OUT, ABORTED) calls a function that rebuilds report/index.html,
// report.json and savings.csv in each state bucket from the records. It reads the records and
// the run index under the environments' prefixes and writes only report/* (needs.ts
// REPORT_NEEDS). The fleet and environment definitions are unchanged. Retry-safe: the report
// is rebuilt whole and overwritten, so EventBridge's and Lambda's retries only rewrite it; an
// event neither can deliver lands in the stack's event dead-letter queue (alarmed).
import { Duration, Stack } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { STATUS_CHANGE_DETAIL_TYPE } from '#core/run/execution-ended';
import { REPORT_FUNCTION } from '#core/steps';
import type { ScopedGrants } from '../iam/grants.ts';
import { REPORT_NEEDS } from '../iam/needs.ts';
import { withDeadLetterQueue } from './event-failures.ts';
import type { MakeFunction } from './function.ts';

/** Every way a fleet execution ends: the report follows each run, whatever its outcome. */
export const FLEET_END_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/**
 * Seconds the report may take: Lambda's most (15 min). The first report of 2,000 environments
 * over 30 days, before any day is sealed, is ~192,000 small S3 requests: 80 s at 20 ms each
 * and 48 in flight, 400 s at 100 ms (`npm run bench -- report`). Its seals are written at its
 * end, so a report that timed out would leave the next one just as slow: the margin matters.
 * Once sealed: ~18,000 requests, 8 s at 20 ms.
 */
export const REPORT_TIMEOUT_SECONDS = 900;
/** MiB: the model and page of 2,000 environments × 30 days (118,000 runs, a 950 KB page) took ~430 MiB in the bench's process. */
export const REPORT_MEMORY_MIB = 1024;

export interface DeployedReport {
  function: NodejsFunction;
  rule: Rule;
}

export function addDeployedReport(
  scope: Construct,
  o: {
    makeFunction: MakeFunction;
    grants: ScopedGrants;
    fleetWorkflow: IStateMachine;
    eventFailures: IQueue;
  },
): DeployedReport {
  const fn = o.makeFunction(REPORT_FUNCTION);
  (fn.node.defaultChild as CfnFunction).timeout = REPORT_TIMEOUT_SECONDS;
  (fn.node.defaultChild as CfnFunction).memorySize = REPORT_MEMORY_MIB;
  o.grants.grant(fn, REPORT_NEEDS);
  withDeadLetterQueue(fn, o.eventFailures);
  const rule = new Rule(scope, 'ReportAfterFleet', {
    description: 'A fleet run ended: rebuild the deployed report (report/ in the state buckets)',
    eventPattern: {
      source: ['aws.states'],
      detailType: [STATUS_CHANGE_DETAIL_TYPE],
      account: [Stack.of(scope).account],
      detail: {
        stateMachineArn: [o.fleetWorkflow.stateMachineArn],
        status: [...FLEET_END_STATUSES],
      },
    },
    targets: [
      new LambdaFunction(fn, {
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: o.eventFailures,
      }),
    ],
  });
  return { function: fn, rule };
}
