// The one definition of the seven-day guard (lambdas/core/guard/guard.ts): find the environments
// of the RDS event's database (or all of them, for the daily sweep), then per environment a
// loop of "Keep database stopped" and a Wait until the database is stopped again, then a
// summary. The environments go through a Distributed Map (items from S3, results to S3): a
// daily sweep of every environment stays within 262,144 bytes per state at any fleet size.
// The deployed stack and the local engine run this same definition. Also: the
// EventBridge pattern of the RDS events the guard listens to, for the configured databases.
import type { EventPattern } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  JsonPath,
  Pass,
  type State,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { GUARD_EVENTS } from '#core/guard/guard';
import { type GuardFunctionId, GuardFunctions, GuardSteps } from '#core/steps';
import type { IamScope } from '../iam/scope.ts';
import { renderLocal } from './render-local.ts';
import { lambdaTask, s3DistributedMap } from './states.ts';

export type GuardWorkflowFunctions = Record<GuardFunctionId, IFunction>;

/** At most this many environments are guarded at once (one event names one database). */
export const GUARD_CONCURRENCY = 5;

export function buildGuardWorkflow(
  scope: Construct,
  fns: GuardWorkflowFunctions,
  /** The state buckets: the guard's items and results live under guard/ in them. */
  buckets: readonly IBucket[] = [],
): State {
  const select = lambdaTask(scope, GuardSteps.select, fns['guard-select'], {
    payload: TaskInput.fromObject({
      input: JsonPath.objectAt('$'),
      executionId: JsonPath.stringAt('$$.Execution.Id'),
    }),
  });
  // Without a payload, a Task gets its whole state input.
  const step = lambdaTask(scope, GuardSteps.step, fns['guard-step']);
  const recordFailure = lambdaTask(scope, GuardSteps.recordFailure, fns['guard-step']);
  const itemDone = new Succeed(scope, GuardSteps.itemDone);
  step.addCatch(new Pass(scope, GuardSteps.caught).next(recordFailure), {
    errors: ['States.ALL'],
    resultPath: '$.error',
  });
  recordFailure.next(itemDone);
  const wait = new Wait(scope, GuardSteps.wait, { time: WaitTime.secondsPath('$.waitSeconds') });
  step.next(
    new Choice(scope, GuardSteps.stopped)
      .when(Condition.stringEquals('$.phase', 'wait'), wait.next(step))
      .otherwise(itemDone),
  );
  const each = s3DistributedMap(scope, GuardSteps.each, {
    buckets,
    prefix: 'guard/',
    label: 'Guard',
    concurrency: { maxConcurrency: GUARD_CONCURRENCY },
  });
  each.itemProcessor(step);
  const summary = lambdaTask(scope, GuardSteps.summary, fns['guard-summary']);
  select.next(each).next(summary);
  return select;
}

/**
 * The RDS events that start the guard, by kind, for the configured databases: the same
 * identifier scope as the IAM grants (a template's placeholders become one "*", matched with
 * EventBridge wildcard matching), so the rule does not grow with the fleet. A database that
 * matches the template but is not configured reaches the guard, which records a no-op.
 * Only events of the accounts the configured databases live in match.
 */
export function guardEventPattern(rds: IamScope['rds'], accounts: readonly string[]): EventPattern[] {
  const ids = (kind: 'instance' | 'cluster') =>
    [...new Set(rds.filter((r) => r.kind === kind).flatMap((r) => r.identifiers))]
      .sort()
      .map((id) => (id.includes('*') ? ({ wildcard: id } as unknown as string) : id));
  const patterns: EventPattern[] = [];
  const instances = ids('instance');
  if (instances.length)
    patterns.push({
      source: ['aws.rds'],
      account: [...accounts],
      detailType: ['RDS DB Instance Event'],
      detail: {
        SourceType: ['DB_INSTANCE'],
        EventID: [...GUARD_EVENTS.instance],
        SourceIdentifier: instances,
      },
    });
  const clusters = ids('cluster');
  if (clusters.length)
    patterns.push({
      source: ['aws.rds'],
      account: [...accounts],
      detailType: ['RDS DB Cluster Event'],
      detail: { SourceType: ['CLUSTER'], EventID: [...GUARD_EVENTS.cluster], SourceIdentifier: clusters },
    });
  return patterns;
}

/** The guard ASL without a deployment, for the local engine (placeholder ARNs). */
export function renderGuardDefinition(): Record<string, unknown> {
  return renderLocal(
    'RenderGuard',
    Object.keys(GuardFunctions) as GuardFunctionId[],
    'Guard workflow',
    (stack, fns) => buildGuardWorkflow(stack, fns),
  );
}
