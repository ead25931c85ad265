// The CLI's exit codes, and the one table from every way a run can end to its code, its
// message and what the records and the lock say afterwards. The human output, `--json`, the
// fleet's per-environment results and the exit-code table of docs/operations.md all come from RUN_OUTCOMES,
// so a CI job is told what happened, under every interleaving of signals and failures.
import { ErrorNames, REFUSAL_ERRORS, USAGE_ERRORS } from '#core/errors';

export const ExitCode = {
  /** The action finished (or the dry run planned it). */
  Done: 0,
  /** The run failed; the failure is recorded in S3 and the lock released. */
  Failed: 1,
  /** Refused by a rule (up after up, down after down, first up, reused build) or by the lock; nothing changed. */
  Refused: 2,
  /** The run failed and the failure could not be written to S3, or its lock was left; its intent record keeps the restore point. */
  FailedNotRecorded: 3,
  /** SIGINT/SIGTERM, and the interruption could NOT be recorded or the lock was left: `cim unlock`, then run again. */
  InterruptedNotRecorded: 4,
  /** Bad command line, input or configuration; nothing changed. */
  Usage: 64,
  /** SIGINT/SIGTERM: stopped at a safe point, recorded as interrupted, lock released (128 + SIGINT). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A bad command line or legacy variable: exit 64 with the usage (cli/args.ts, cli/legacy-env.ts). */
export class UsageError extends Error {}

export function exitCodeFor(errorName: string | undefined): ExitCode {
  if (!errorName) return ExitCode.Done;
  if ((REFUSAL_ERRORS as readonly string[]).includes(errorName)) return ExitCode.Refused;
  if ((USAGE_ERRORS as readonly string[]).includes(errorName)) return ExitCode.Usage;
  if (errorName === ErrorNames.Interrupted) return ExitCode.Interrupted;
  return ExitCode.Failed;
}

/** What a message can name: the action, the environment and the command that clears its lock. */
export interface OutcomeContext {
  action: string;
  /** customer/environment */
  where: string;
  /** `cim unlock --customer C --env E` */
  unlock: string;
}

export interface OutcomeRow {
  code: ExitCode;
  /** The `result` word of `--json` (kept from before the table: succeeded, failed, refused, invalid, interrupted). */
  result: 'succeeded' | 'failed' | 'refused' | 'invalid' | 'interrupted';
  /** Whether S3 says what happened once the run ended (nothing to record counts as recorded); null: either. */
  recorded: boolean | null;
  /** Whether this run no longer holds the environment lock; null: either. */
  lockReleased: boolean | null;
  /** The text of docs/operations.md for this row. */
  meaning: string;
  /** The last line of the human output (the error's own message is printed before it). */
  message(c: OutcomeContext): string;
}

const unlockThenRerun = (c: OutcomeContext) =>
  `if \`cim status --customer ${c.where.split('/')[0]} --env ${c.where.split('/')[1]}\` shows this run in progress, run \`${c.unlock}\`, then ${c.action} again`;

/**
 * Every way a run of `up`, `down` or `status` can end. Rows in the order docs/operations.md lists them.
 * A signal that arrives after the result is final changes nothing: the run's own row stands.
 */
export const RUN_OUTCOMES = {
  succeeded: {
    code: ExitCode.Done,
    result: 'succeeded',
    recorded: true,
    lockReleased: true,
    meaning: 'done: recorded, lock released (a SIGINT/SIGTERM while it recorded, or after, changes nothing)',
    message: (c) => `${c.action} ${c.where} succeeded`,
  },
  planned: {
    code: ExitCode.Done,
    result: 'succeeded',
    recorded: true,
    lockReleased: true,
    meaning: 'the dry run planned it: nothing changed, nothing recorded, no lock taken',
    message: (c) => `dry run of ${c.action} ${c.where} planned`,
  },
  'succeeded-lock-left': {
    code: ExitCode.Done,
    result: 'succeeded',
    recorded: true,
    lockReleased: false,
    meaning:
      'done and recorded, but the lock could not be released: the message gives the `cim unlock` command the next run needs',
    message: (c) =>
      `${c.action} ${c.where} succeeded and is recorded, but its lock could NOT be released; before the next run: \`${c.unlock}\``,
  },
  failed: {
    code: ExitCode.Failed,
    result: 'failed',
    recorded: true,
    lockReleased: true,
    meaning:
      'failed: the failure is recorded in S3 (`result: failed`, error and the step that failed) and the lock released',
    message: (c) => `${c.action} ${c.where} failed; the failure is recorded and the lock released`,
  },
  'failed-before-change': {
    code: ExitCode.Failed,
    result: 'failed',
    recorded: true,
    lockReleased: true,
    meaning:
      'failed before its first change (S3 or the API server unreachable, say): nothing changed, nothing to record, lock released; run it again',
    message: (c) =>
      `${c.action} ${c.where} failed before its first change: nothing changed, nothing to record; lock released`,
  },
  refused: {
    code: ExitCode.Refused,
    result: 'refused',
    recorded: true,
    lockReleased: true,
    meaning:
      'refused, nothing changed: `up` on the first run or right after `up`, `down` right after `down`, a build id that already has history, the environment locked by another run, a restore point or record that cannot be trusted, `--restore-from-build` of a build that is not a down or a recorded status, a scheduled run of an environment on hold',
    message: (c) => `${c.action} ${c.where} refused; nothing was changed`,
  },
  'lock-lost-before-change': {
    code: ExitCode.Refused,
    result: 'refused',
    recorded: true,
    lockReleased: true,
    meaning:
      'refused: another run took the lock (the same build started twice, an unlock) before this one changed anything; nothing changed, nothing recorded',
    message: (c) =>
      `${c.action} ${c.where} refused: another run holds the lock and this one had changed nothing; nothing was changed or recorded`,
  },
  'failed-not-recorded': {
    code: ExitCode.FailedNotRecorded,
    result: 'failed',
    recorded: null,
    lockReleased: null,
    meaning:
      'failed, and the failure could **not** be recorded or the lock not released (S3 unreachable): the intent record written before the first change still holds the restore point; fix S3 access, `cim unlock` if the message says so, and run `down` or `up` again',
    message: (c) =>
      `${c.action} ${c.where} failed and the failure could NOT be recorded or the lock released; the intent record keeps the restore point: fix S3 access, then ${unlockThenRerun(c)}`,
  },
  'interrupted-not-recorded': {
    code: ExitCode.InterruptedNotRecorded,
    result: 'interrupted',
    recorded: null,
    lockReleased: null,
    meaning:
      'interrupted, and the interruption could **not** be recorded or the lock was left (S3 unreachable, or a third SIGINT/SIGTERM forced the exit): `actions.json` may still say `running`; the message gives the `cim unlock` command; then run the same action again',
    message: (c) =>
      `${c.action} ${c.where} interrupted and NOT recorded (actions.json may still say running): ${unlockThenRerun(c)}`,
  },
  invalid: {
    code: ExitCode.Usage,
    result: 'invalid',
    recorded: true,
    lockReleased: true,
    meaning:
      'bad command line, input, configuration, or a preflight check failed (database missing, no deployment found, no permission to scale): nothing changed',
    message: (c) => `${c.action} ${c.where} refused: bad input or configuration; nothing was changed`,
  },
  interrupted: {
    code: ExitCode.Interrupted,
    result: 'interrupted',
    recorded: true,
    lockReleased: true,
    meaning:
      'interrupted by SIGINT/SIGTERM (a CI abort, a second signal included): stopped at a safe point, recorded as `interrupted` (or stopped before its first change, nothing to record), lock released; run the same action again to finish it',
    message: (c) =>
      `${c.action} ${c.where} interrupted at a safe point: recorded as interrupted, lock released. Run ${c.action} again to finish it`,
  },
} as const satisfies Record<string, OutcomeRow>;
export type RunOutcome = keyof typeof RUN_OUTCOMES;

/** What a finished run reports: its error (if any) and the summary of its recording step. */
export interface RunFacts {
  errorName?: string | undefined;
  /** The run summary (RunSummary's `recorded` and `lock`), or null when the run has none. */
  summary: { recorded?: boolean | 'nothing-changed'; lock?: string } | null;
  /** A local run with no summary never finished recording; a remote one keeps it in its history. */
  local: boolean;
  dryRun?: boolean;
}

/** Which row of RUN_OUTCOMES a finished run is. */
export function classifyRun(f: RunFacts): RunOutcome {
  const s = f.summary;
  const lockLeft = s?.lock === 'release-failed';
  const notRecorded = s?.recorded === false || (f.local && !s);
  const base = exitCodeFor(f.errorName);
  if (base === ExitCode.Done) return lockLeft ? 'succeeded-lock-left' : f.dryRun ? 'planned' : 'succeeded';
  if (base === ExitCode.Interrupted)
    return lockLeft || s?.recorded === false ? 'interrupted-not-recorded' : 'interrupted';
  if (base === ExitCode.Refused || base === ExitCode.Usage) {
    if (lockLeft) return 'failed-not-recorded';
    return base === ExitCode.Refused ? 'refused' : 'invalid';
  }
  if (lockLeft || notRecorded) return 'failed-not-recorded';
  if (s?.recorded === 'nothing-changed')
    return f.errorName === ErrorNames.LockLost ? 'lock-lost-before-change' : 'failed-before-change';
  return 'failed';
}

/** Exit code of a finished run: its row in RUN_OUTCOMES (cli/exit-codes.ts). */
export function outcomeExitCode(
  errName: string | undefined,
  out: RunFacts['summary'],
  local = true,
): ExitCode {
  return RUN_OUTCOMES[classifyRun({ errorName: errName, summary: out, local })].code;
}

/** The `--json` fields every run result carries, from its row and the facts of the run. */
export function outcomeFields(outcome: RunOutcome, f?: Pick<RunFacts, 'summary'>) {
  const row: OutcomeRow = RUN_OUTCOMES[outcome];
  const lock = f?.summary?.lock;
  return {
    outcome,
    result: row.result,
    exitCode: row.code,
    recorded: row.recorded ?? f?.summary?.recorded === true,
    lockReleased: row.lockReleased ?? (lock !== undefined && lock !== 'release-failed'),
  };
}

const cell = (s: string) => s.replaceAll('|', '\\|');

/** The "## Exit codes" table of docs/operations.md, generated from RUN_OUTCOMES (a test keeps the two equal). */
export function exitCodeTableMarkdown(): string {
  const rows = Object.entries(RUN_OUTCOMES).map(([name, r]: [string, OutcomeRow]) => [
    String(r.code),
    `\`${name}\``,
    r.recorded === null ? 'either' : r.recorded ? 'yes' : '**no**',
    r.lockReleased === null ? 'either' : r.lockReleased ? 'yes' : '**no**',
    cell(r.meaning),
  ]);
  rows.push([
    'the run’s',
    '(any)',
    '',
    '',
    'a SIGINT/SIGTERM after the result is final (printed, or being printed) changes nothing: the run exits with its own code',
  ]);
  const head = ['code', 'outcome (`--json`)', 'recorded', 'lock released', 'meaning'];
  const lines = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

/** `cim --help`'s summary of the codes. */
export function exitCodeHelp(): string {
  return `Exit codes: 0 done, 1 failed (recorded, lock released), 2 refused (nothing changed, a lost
            lock before any change included), 3 failed and NOT recorded or lock left,
            4 interrupted and NOT recorded or lock left (the message says how to unlock),
            64 usage or configuration error (nothing changed), 130 interrupted by SIGINT/SIGTERM
            (recorded as interrupted, lock released); a signal after the result changes nothing`;
}
