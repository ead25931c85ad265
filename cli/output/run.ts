// What `cim up|down|status` prints when a run of one environment ends: the `--json` result,
// or the human lines (the dry run's plan, the records, the last line from RUN_OUTCOMES).

import type { RunRequest } from '#core/contracts';
import { ErrorNames } from '#core/errors';
import type { DryRunPlan } from '#core/run/plan';
import type { RunSummary } from '#core/run/record';
import {
  classifyRun,
  type OutcomeContext,
  outcomeFields,
  RUN_OUTCOMES,
  type RunOutcome,
} from '../exit-codes.ts';
import { type Printer, printLegacySections, printStatus, renderPlan } from './printer.ts';

/** How an execution ended, local or remote. */
export interface Outcome {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error?: { Error: string; Cause: string } | undefined;
  path: string[];
}

/** A run refused or failed before it had an outcome of its own: one line (or the JSON result); its exit code. */
export function printFailure(
  json: boolean,
  name: string,
  message: string,
  outcome: RunOutcome = classifyRun({ errorName: name, summary: null, local: false }),
): number {
  if (json)
    process.stdout.write(
      `${JSON.stringify({ ...outcomeFields(outcome), error: { name, message } }, null, 2)}\n`,
    );
  else process.stderr.write(`cim: ${name}: ${message}\n`);
  return RUN_OUTCOMES[outcome].code;
}

/** The third signal: exit at once, NOT recorded; says how to unlock. Its exit code. */
export function printThirdSignal(json: boolean, signal: NodeJS.Signals, ctx: OutcomeContext): number {
  const row = RUN_OUTCOMES['interrupted-not-recorded'];
  const message = `${signal} a third time: exited at once. ${row.message(ctx)}`;
  if (json)
    process.stdout.write(
      `${JSON.stringify({ ...outcomeFields('interrupted-not-recorded'), error: { name: ErrorNames.Interrupted, message } }, null, 2)}\n`,
    );
  process.stderr.write(`cim: ${message}\n`);
  return row.code;
}

export interface RunResult {
  result: RunOutcome;
  code: number;
  errName: string | undefined;
  /** The error's message, from its Cause. */
  message: string | undefined;
  out: (RunSummary & Partial<DryRunPlan>) | null;
}

/** Which row of RUN_OUTCOMES a finished run is, with what the lines about it need. */
export function runResult(
  outcome: Outcome,
  request: RunRequest,
  local: boolean,
  causeMessage: (cause: string) => string,
): RunResult {
  const errName = outcome.error?.Error;
  const out = outcome.output as (RunSummary & Partial<DryRunPlan>) | null;
  const result = classifyRun({ errorName: errName, summary: out, local, dryRun: request.dryRun });
  const message = outcome.error ? causeMessage(outcome.error.Cause) : undefined;
  return { result, code: RUN_OUTCOMES[result].code, errName, message, out };
}

export function printJsonResult(r: RunResult, outcome: Outcome, extra?: Record<string, unknown>): void {
  process.stdout.write(
    `${JSON.stringify({ ...outcomeFields(r.result, { summary: r.out }), ...(outcome.error ? { error: { name: r.errName, message: r.message } } : {}), output: outcome.output, path: outcome.path, ...extra }, null, 2)}\n`,
  );
}

/** A dry run's plan, if this is one; whether it printed. */
export function printPlanned(p: Printer, r: RunResult, request: RunRequest, seconds: string): boolean {
  if (r.result !== 'planned' || !r.out || !('plan' in r.out)) return false;
  p.line('\nDry run: nothing was changed or recorded. The run would:');
  for (const step of renderPlan(r.out as DryRunPlan)) p.line(`  - ${step}`);
  p.ok(`\n✔ dry run of ${request.action} ${request.customer}/${request.environment} planned in ${seconds} s`);
  return true;
}

/** The records, read back: a status as a status, anything else as the legacy job's sections. */
export function printRecords(p: Printer, request: RunRequest, full: RunSummary): void {
  if (request.action === 'get_env_state' && !request.record) printStatus(p, full);
  else printLegacySections(p, full);
}

/** The last lines: how the run ended and what to do about it. */
export function printRunEnd(
  p: Printer,
  r: RunResult,
  request: RunRequest & { build: string },
  seconds: string,
  ctx: OutcomeContext,
): void {
  const { out, errName, message } = r;
  const head = `\n✖ ${request.action} ${ctx.where}`;
  const row = RUN_OUTCOMES[r.result];
  switch (r.result) {
    case 'succeeded':
    case 'planned':
      p.ok(`\n✔ ${request.action} ${ctx.where} succeeded in ${seconds} s (build ${request.build})`);
      break;
    case 'succeeded-lock-left':
      p.ok(`\n✔ ${request.action} ${ctx.where} succeeded in ${seconds} s (build ${request.build})`);
      p.warn(`  ${row.message(ctx)}`);
      break;
    case 'refused':
    case 'invalid':
    case 'lock-lost-before-change':
      p.error(`${head} refused: ${message}\n  Nothing was changed.`);
      break;
    case 'interrupted':
      p.error(
        `${head} interrupted after ${seconds} s; ${out?.recorded === 'nothing-changed' ? 'it stopped before its first change: nothing to record' : 'recorded as interrupted'}; lock ${out?.lock ?? 'unknown'}. Run the same action again to finish it.`,
      );
      break;
    case 'interrupted-not-recorded':
      p.error(`${head} interrupted after ${seconds} s; lock ${out?.lock ?? 'unknown'}.`);
      p.error(`  ${row.message(ctx)}`);
      break;
    case 'failed-not-recorded':
      p.error(
        `${head} failed after ${seconds} s: ${errName}: ${message}\n  The failure could NOT be recorded in S3 or the lock released (recorded: ${String(out?.recorded ?? 'unknown')}, lock ${out?.lock ?? 'unknown'}). The intent record written before the first change keeps the restore point.`,
      );
      p.error(`  ${row.message(ctx)}`);
      break;
    default:
      p.error(`${head} failed after ${seconds} s: ${errName}: ${message}`);
      if (out?.records?.length)
        p.line(`  The failure is recorded in ${out.records.at(-1)}; lock ${out.lock}.`);
      else if (out?.recorded === 'nothing-changed')
        p.line(`  It stopped before its first change: nothing to record; lock ${out.lock}.`);
  }
}
