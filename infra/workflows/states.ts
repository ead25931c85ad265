// The building blocks the three workflows share: the one Retry policy of every Lambda Task
// (TASK_RETRIES) and `lambdaTask`, the Lambda Task that carries it.
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  type IntegrationPattern,
  JitterType,
  type TaskInput,
  type TaskStateBase,
  type Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ErrorNames, THROTTLING_ERRORS } from '#core/errors';

/** Longer than the functions' own 60 s timeout: the Lambda's timeout error comes first when it can. */
export const TASK_TIMEOUT_SECONDS = 90;

/** Lambda's own service errors (what CDK's `retryOnServiceExceptions` retries, without jitter). */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
] as const;

export interface TaskRetrier {
  readonly errors: readonly string[];
  readonly intervalSeconds: number;
  readonly backoffRate: number;
  readonly maxDelaySeconds: number;
  readonly maxAttempts: number;
}

/**
 * The one Retry policy of every Lambda Task of the environment, fleet and guard workflows.
 * Each retrier waits a random time up to min(interval x rate^n, MaxDelaySeconds) (full
 * jitter), so Tasks throttled together do not come back together.
 *  - throttled: expected at fleet scale (RDS allows 300 requests in a burst and 12 per second
 *    per account; Lambda's concurrency; S3 SlowDown per prefix): Lambda's
 *    TooManyRequestsException, our TransientAwsError (core wraps throttling and network
 *    errors in it) and the SDK's throttling names raw, for a call core does not wrap.
 *    8 retries, at most 242 s of delay in all.
 *  - transient: a racing conditional write, a Kubernetes error (a 429 with Retry-After was
 *    already waited for in the function, see core/kube.ts). 5 retries, at most 60 s.
 *  - lambda: Lambda's service errors. 6 retries, at most 90 s.
 * Bound: the SDK makes at most AWS_SDK_MAX_ATTEMPTS (3) requests per call, so a throttled
 * call is sent at most 3 x (1 + 8) = 27 times per Task, over at most 242 s of Step Functions
 * delay plus the SDK's own backoff; test/infra/retries.test.ts checks these numbers.
 */
export const TASK_RETRIES = {
  throttled: {
    errors: ['Lambda.TooManyRequestsException', ErrorNames.TransientAwsError, ...THROTTLING_ERRORS],
    intervalSeconds: 2,
    backoffRate: 2,
    maxDelaySeconds: 60,
    maxAttempts: 8,
  },
  transient: {
    errors: [ErrorNames.ConditionalWriteConflict, ErrorNames.KubernetesError],
    intervalSeconds: 2,
    backoffRate: 2,
    maxDelaySeconds: 30,
    maxAttempts: 5,
  },
  lambda: {
    errors: LAMBDA_SERVICE_ERRORS,
    intervalSeconds: 2,
    backoffRate: 2,
    maxDelaySeconds: 30,
    maxAttempts: 6,
  },
} as const satisfies Record<string, TaskRetrier>;

/** The longest a retrier can wait in all before it gives up (every jittered wait at its maximum). */
export const retryDelayBoundSeconds = (r: TaskRetrier): number =>
  Array.from({ length: r.maxAttempts }, (_, n) =>
    Math.min(r.intervalSeconds * r.backoffRate ** n, r.maxDelaySeconds),
  ).reduce((a, b) => a + b, 0);

/**
 * Adds TASK_RETRIES to a Lambda Task built with `retryOnServiceExceptions: false`. `lambdaOnly`:
 * a Task that throws no errors of its own (Record failure logs them) retries only Lambda's.
 */
export function addTaskRetries<T extends TaskStateBase>(task: T, opts: { lambdaOnly?: boolean } = {}): T {
  const retriers: TaskRetrier[] = opts.lambdaOnly
    ? [{ ...TASK_RETRIES.throttled, errors: ['Lambda.TooManyRequestsException'] }, TASK_RETRIES.lambda]
    : Object.values(TASK_RETRIES);
  for (const r of retriers)
    task.addRetry({
      errors: [...r.errors],
      interval: Duration.seconds(r.intervalSeconds),
      backoffRate: r.backoffRate,
      maxDelay: Duration.seconds(r.maxDelaySeconds),
      maxAttempts: r.maxAttempts,
      jitterStrategy: JitterType.FULL,
    });
  return task;
}

export interface LambdaTaskOptions {
  /** What the function gets; without it, the whole state input. */
  payload?: TaskInput;
  resultPath?: string;
  taskTimeout?: Timeout;
  integrationPattern?: IntegrationPattern;
  comment?: string;
  /** A Task that throws no errors of its own retries only Lambda's (see addTaskRetries). */
  lambdaOnly?: boolean;
}

/**
 * A Lambda Task with the standard Retry (TASK_RETRIES): its result is the function's own
 * (payloadResponseOnly, except for a task-token wait), never CDK's service-exception retry.
 */
export function lambdaTask(scope: Construct, name: string, fn: IFunction, o: LambdaTaskOptions = {}) {
  const task = new LambdaInvoke(scope, name, {
    lambdaFunction: fn,
    ...(o.integrationPattern ? { integrationPattern: o.integrationPattern } : { payloadResponseOnly: true }),
    retryOnServiceExceptions: false,
    ...(o.payload ? { payload: o.payload } : {}),
    ...(o.resultPath ? { resultPath: o.resultPath } : {}),
    ...(o.taskTimeout ? { taskTimeout: o.taskTimeout } : {}),
    ...(o.comment ? { comment: o.comment } : {}),
  });
  return addTaskRetries(task, { lambdaOnly: o.lambdaOnly ?? false });
}
