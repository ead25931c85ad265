// AWS's quotas that bind this project's designs, as data: the local runner enforces them
// (cli/engine/quotas.ts), infra and core size against them, tests prove them. Each number
// carries the AWS documentation page it comes from; change one only with its source.

/**
 * Step Functions: "Maximum input or output size for a task, state, or execution: 256 KiB of
 * data as a UTF-8 encoded string", when scheduling a task, entering a state, or starting an
 * execution. Exceeding it fails the execution with `States.DataLimitExceeded`, which a
 * `States.ALL` Retry or Catch does not match.
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
export const MAX_PAYLOAD_BYTES = 262_144;

/**
 * Step Functions: an inline Map runs at most 40 iterations at once, whatever MaxConcurrency
 * says ("Inline mode supports up to 40 concurrent iterations"); 0 means "as many as allowed".
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
 */
export const MAX_INLINE_MAP_CONCURRENCY = 40;

/**
 * Step Functions: a Distributed Map runs at most 10,000 child workflows at once.
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
 */
export const MAX_DISTRIBUTED_MAP_CONCURRENCY = 10_000;

/**
 * StartExecution `name`: 1 to 80 characters; only `0-9A-Za-z-_` keeps CloudWatch logging
 * working (and is what this project generates). Unique per state machine: a name used before,
 * by a running or a closed execution, answers `ExecutionAlreadyExists` for 90 days.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
 */
export const MAX_EXECUTION_NAME_LENGTH = 80;
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
export const EXECUTION_NAME_REUSE_DAYS = 90;

/**
 * Step Functions (Standard): "Maximum execution history size: 25,000 events in a single state
 * machine execution history. If the execution history reaches this quota, the execution fails."
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-state-machine-executions
 */
export const MAX_HISTORY_EVENTS = 25_000;

/** UTF-8 bytes of a value as Step Functions measures it: its JSON text. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}
