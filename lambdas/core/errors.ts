// Owns the error classes. Each class's `name` is the error string that Step Functions sees,
// so Retry/Catch in infra and the CLI's exit codes match on these exact names.

export const ErrorNames = {
  InvalidInput: 'InvalidInput',
  ConfigInvalid: 'ConfigInvalid',
  UnknownEnvironment: 'UnknownEnvironment',
  SelectionInvalid: 'SelectionInvalid',
  ActionRefused: 'ActionRefused',
  BuildAlreadyRecorded: 'BuildAlreadyRecorded',
  EnvironmentLocked: 'EnvironmentLocked',
  StateRecordInvalid: 'StateRecordInvalid',
  RestorePointMissing: 'RestorePointMissing',
  DatabaseNotFound: 'DatabaseNotFound',
  DatabaseErrorState: 'DatabaseErrorState',
  DatabaseActionFailed: 'DatabaseActionFailed',
  /** An EKS node group refused a scaling change, or is in a state waiting does not fix. */
  NodegroupActionFailed: 'NodegroupActionFailed',
  KubernetesAccessDenied: 'KubernetesAccessDenied',
  KubernetesError: 'KubernetesError',
  WaitTimedOut: 'WaitTimedOut',
  TransientAwsError: 'TransientAwsError',
  ConditionalWriteConflict: 'ConditionalWriteConflict',
  PreflightFailed: 'PreflightFailed',
  LockLost: 'LockLost',
  Interrupted: 'Interrupted',
  RecordConflict: 'RecordConflict',
  /** A scheduled run of an environment under an active hold (cim hold): skipped, nothing changed. */
  EnvironmentOnHold: 'EnvironmentOnHold',
  /**
   * A wake's up found the environment locked by a running change (a down): Prepare's Retry
   * waits and decides again (infra/workflows/environment.ts); refused once its deadline passed.
   */
  WakeWaitsForRun: 'WakeWaitsForRun',
  /** The seven-day guard could not keep at least one database stopped. */
  GuardHadFailures: 'GuardHadFailures',
  /** AWS's 262,144-byte payload quota; no Retry or Catch matches it (lambdas/core/aws-limits.ts). */
  DataLimitExceeded: 'States.DataLimitExceeded',
  /** What Step Functions reports for an execution it cannot go on with (the history quota). */
  StatesRuntime: 'States.Runtime',
  /** StartExecution: a name already used on this state machine (running, or closed < 90 days). */
  ExecutionAlreadyExists: 'ExecutionAlreadyExists',
  /** StartExecution: a name longer than 80 characters or outside [A-Za-z0-9_-]. */
  InvalidName: 'InvalidName',
  /** A definition AWS would run differently than asked (an inline Map above 40 at once). */
  InvalidDefinition: 'InvalidDefinition',
} as const;
export type ErrorName = (typeof ErrorNames)[keyof typeof ErrorNames];

/** Errors that a Retry may repeat: throttling, network hiccups, a racing conditional write. */
export const RETRYABLE_ERRORS: readonly ErrorName[] = [
  ErrorNames.TransientAwsError,
  ErrorNames.ConditionalWriteConflict,
  ErrorNames.KubernetesError,
];

/** A refusal changes nothing and is not a failure of the environment: CLI exit code 2. */
export const REFUSAL_ERRORS: readonly ErrorName[] = [
  ErrorNames.ActionRefused,
  ErrorNames.BuildAlreadyRecorded,
  ErrorNames.EnvironmentLocked,
  ErrorNames.StateRecordInvalid,
  ErrorNames.RestorePointMissing,
  ErrorNames.RecordConflict,
  ErrorNames.EnvironmentOnHold,
  ErrorNames.WakeWaitsForRun,
  ErrorNames.ExecutionAlreadyExists,
];

/** Bad input or configuration: CLI exit code 64. */
export const USAGE_ERRORS: readonly ErrorName[] = [
  ErrorNames.InvalidInput,
  ErrorNames.ConfigInvalid,
  ErrorNames.UnknownEnvironment,
  ErrorNames.SelectionInvalid,
  ErrorNames.PreflightFailed,
  ErrorNames.InvalidName,
  ErrorNames.InvalidDefinition,
];

/**
 * What the user can change to fix an error, when a front end has its own way to say it (the
 * CLI's flags: cli/error-hints.ts). Core messages say what is wrong and name no CLI flag.
 */
export type ErrorFix = 'kubeconfig-file' | 'kubeconfig-context' | 'kubeconfig-cluster' | 'reread-hold';

export class CimError extends Error {
  /** Not enumerable: an error serialized (a log line) reads as it did before the field. */
  declare readonly fix?: ErrorFix;
  constructor(name: ErrorName, message: string, options?: { cause?: unknown; fix?: ErrorFix }) {
    super(message, options);
    this.name = name;
    if (options?.fix) Object.defineProperty(this, 'fix', { value: options.fix });
  }
}

/** Reads an error name from anything thrown (SDK errors, ApiException, ours). */
export function errorName(err: unknown): string {
  if (err && typeof err === 'object' && 'name' in err && typeof err.name === 'string') return err.name;
  return 'Error';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The error names AWS services throttle with (RDS and STS `Throttling`, EKS and most JSON
 * services `ThrottlingException`, EKS and Lambda `TooManyRequestsException`, EC2
 * `RequestLimitExceeded`, S3 `SlowDown`). The SDK's errors keep them as their `name`, which
 * the Lambda runtime reports as the error type Step Functions matches: wrapAwsError turns them
 * into TransientAwsError, and the Task Retry also matches them raw for a call that is not
 * wrapped (infra/workflows/states.ts `addTaskRetries`).
 */
export const THROTTLING_ERRORS = [
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
] as const;

/**
 * The AWS SDK's own attempts per API call (standard retry mode: 1 + 2 retries, backoff up to
 * 20 s, a per-client retry quota). Every client keeps this default; the Task Retry multiplies
 * it (see infra/workflows/states.ts `addTaskRetries`), and a unit test checks that it is still 3.
 */
export const AWS_SDK_MAX_ATTEMPTS = 3;

const TRANSIENT_AWS = new Set([
  ...THROTTLING_ERRORS,
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'RequestTimeout',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'TimeoutError',
  'RequestTimeoutException',
]);

/** Wraps an AWS SDK error so that only transient ones become retryable. */
export function wrapAwsError(err: unknown, what: string): Error {
  if (err instanceof CimError) return err;
  const name = errorName(err);
  const code = (err as { code?: string })?.code;
  if (TRANSIENT_AWS.has(name) || (code && TRANSIENT_AWS.has(code))) {
    return new CimError(ErrorNames.TransientAwsError, `${what}: ${name}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(`${what}: ${String(err)}`);
}

/**
 * Every AWS SDK client: a request that gets no answer ends after this long, so a hung peer
 * fails the step (and is retried or recorded) well inside the Task's timeout, instead of
 * leaving a handler running after the run has been reported.
 */
export const AWS_REQUEST_TIMEOUTS = { requestTimeout: 20_000, connectionTimeout: 5_000 } as const;

// Control (C0, DEL, C1), bidirectional (marks, embeddings, overrides, isolates), invisible
// (zero-width, BOM) and line-separator characters: in a name they hide or reorder what an
// audit record or a terminal shows ("admin\u202Egnp.exe"). Lone surrogates are not text.
const UNPRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|\p{Cs}/u;

/** The first character of `s` that may not go into a record, as "U+202E", or null. */
export function unprintableCharacter(s: string): string | null {
  const m = UNPRINTABLE.exec(s);
  if (!m) return null;
  const cp = m[0].codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} at position ${m.index + 1}`;
}
