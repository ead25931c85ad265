// The CLI's exit codes: a CI job can tell "refused, nothing changed" from "failed".
import { ErrorNames, REFUSAL_ERRORS, USAGE_ERRORS } from '#core/errors';

export const ExitCode = {
  /** The action finished (or the dry run planned it). */
  Done: 0,
  /** The run failed; the failure is recorded in S3 and the lock released. */
  Failed: 1,
  /** Refused by a rule (up after up, down after down, first up, reused build) or by the lock; nothing changed. */
  Refused: 2,
  /** The run failed and the failure could not be written to S3; its intent record keeps the restore point. */
  FailedNotRecorded: 3,
  /** Bad command line, input or configuration; nothing changed. */
  Usage: 64,
  /** SIGINT/SIGTERM: stopped at a safe point, recorded as interrupted, lock released (128 + SIGINT). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(errorName: string | undefined): ExitCode {
  if (!errorName) return ExitCode.Done;
  if ((REFUSAL_ERRORS as readonly string[]).includes(errorName)) return ExitCode.Refused;
  if ((USAGE_ERRORS as readonly string[]).includes(errorName)) return ExitCode.Usage;
  if (errorName === ErrorNames.Interrupted) return ExitCode.Interrupted;
  return ExitCode.Failed;
}
