// The building blocks the three workflows share: the one Retry policy of every Lambda Task
// (TASK_RETRIES) and `lambdaTask`, the Lambda Task that carries it; `s3DistributedMap`, the
// Distributed Map over an item list in S3 that the fleet and the guard run their items with.
import { Duration } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  DistributedMap,
  type IntegrationPattern,
  JitterType,
  JsonPath,
  ResultWriterV2,
  S3JsonItemReader,
  StateMachineType,
  type TaskInput,
  type TaskStateBase,
  type Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
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

/** The S3 access of a Distributed Map's reader and writer, scoped to one prefix of the given buckets. */
export function mapS3Statements(buckets: readonly IBucket[], prefix: string): PolicyStatement[] {
  if (buckets.length === 0) return [];
  return [
    new PolicyStatement({
      effect: Effect.ALLOW,
      // ItemReader reads the item list; ResultWriter writes (multipart for large files) the results.
      actions: ['s3:GetObject', 's3:PutObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      resources: buckets.map((b) => b.arnForObjects(`${prefix}*`)),
    }),
  ];
}

/**
 * CDK grants a reader or writer with a bucket *path* on every bucket ("*"); these grant the
 * given statements instead (the state buckets' fleet/ or guard/ prefix).
 */
export class ScopedJsonItemReader extends S3JsonItemReader {
  private readonly scoped: PolicyStatement[];
  constructor(props: ConstructorParameters<typeof S3JsonItemReader>[0], statements: PolicyStatement[]) {
    super(props);
    this.scoped = statements;
  }
  override providePolicyStatements(): PolicyStatement[] {
    return this.scoped;
  }
}
export class ScopedResultWriter extends ResultWriterV2 {
  private readonly scoped: PolicyStatement[];
  constructor(props: ConstructorParameters<typeof ResultWriterV2>[0], statements: PolicyStatement[]) {
    super(props);
    this.scoped = statements;
  }
  override providePolicyStatements(): PolicyStatement[] {
    return this.scoped;
  }
}

/**
 * A Distributed Map whose items are a JSON list in S3 ($.itemReader) and whose results go to
 * S3 ($.resultWriter), under `prefix` of the state buckets only. Every item is tried: an
 * item's failure is a result (its Catch), and nothing else stops the run. Each item runs as
 * a child execution (STANDARD) named by `label`.
 */
export function s3DistributedMap(
  scope: Construct,
  name: string,
  o: {
    buckets: readonly IBucket[];
    prefix: string;
    label: string;
    concurrency: { maxConcurrency: number } | { maxConcurrencyPath: string };
  },
): DistributedMap {
  const map = new DistributedMap(scope, name, {
    itemReader: new ScopedJsonItemReader(
      {
        bucketNamePath: JsonPath.stringAt('$.itemReader.bucket'),
        key: JsonPath.stringAt('$.itemReader.key'),
      },
      [],
    ),
    resultWriterV2: new ScopedResultWriter(
      {
        bucketNamePath: JsonPath.stringAt('$.resultWriter.bucket'),
        prefix: JsonPath.stringAt('$.resultWriter.prefix'),
      },
      mapS3Statements(o.buckets, o.prefix),
    ),
    ...o.concurrency,
    toleratedFailurePercentage: 100,
    mapExecutionType: StateMachineType.STANDARD,
    label: o.label,
    resultPath: '$.results',
  });
  // CDK renders ResultWriterV2 only under this feature flag: set on the Map itself, so the
  // definition is the same whatever the app's context.
  map.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
  return map;
}
