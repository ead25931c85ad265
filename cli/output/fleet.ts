// What a fleet prints: a line per environment as it ends, the live progress line on a
// terminal, the result, and `cim status --select`'s table.
import type { FleetItemOutcome, FleetSummary } from '#core/fleet/fleet';
import { fleetExitCode } from '#core/fleet/fleet';
import type { StatusRow } from '#core/run/status';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';
import type { Printer } from './printer.ts';

/** What the result lines need of the command line. */
export interface FleetShown {
  json: boolean;
  action: string;
  selection: string;
}

const SYMBOL: Record<FleetItemOutcome['result'], string> = {
  succeeded: '✔',
  skipped: '↷',
  refused: '⊘',
  failed: '✖',
};

/** One environment's line when it ends: `✔ alpha/dev down succeeded in 12 s [3/10]`. */
export function childLine(o: FleetItemOutcome, action: string, done: number, total: number): string {
  const what = o.error ? `: ${o.error.name}: ${o.error.message.split('\n')[0]}` : '';
  return `  ${SYMBOL[o.result]} ${o.environment} ${action} ${o.result}${o.durationSeconds !== null ? ` in ${o.durationSeconds} s` : ''}${what} [${done}/${total}]`;
}

/** The live line on a terminal: done, running, failed, refused, time, the slowest running. */
export function progressLine(
  done: readonly FleetItemOutcome[],
  running: ReadonlyMap<string, number>,
  total: number,
  started: number,
  now: number,
): string {
  const counts = { succeeded: 0, skipped: 0, refused: 0, failed: 0 };
  for (const d of done) counts[d.result]++;
  const slowest = [...running].sort((a, b) => a[1] - b[1])[0];
  return `  ${done.length}/${total} done · ${running.size} running · ${counts.failed} failed · ${counts.refused} refused · ${((now - started) / 1000).toFixed(0)} s${slowest ? ` · slowest: ${slowest[0]} ${((now - slowest[1]) / 1000).toFixed(0)} s` : ''}`;
}

/** The fleet's result (or why it has none); its exit code. */
export function report(
  inv: FleetShown,
  p: Printer,
  summary: FleetSummary | null,
  error: { Error: string; Cause: string } | undefined,
): number {
  if (!summary) {
    // The fleet was refused before any environment ran (bad request) or died.
    const code = error ? exitCodeFor(error.Error) : ExitCode.Failed;
    if (inv.json)
      process.stdout.write(`${JSON.stringify({ result: 'refused', exitCode: code, error }, null, 2)}\n`);
    else p.error(`\n✖ fleet ${inv.action} ${inv.selection}: ${error?.Error}: ${error?.Cause}`);
    return code;
  }
  const code = fleetExitCode(summary);
  if (inv.json) {
    process.stdout.write(
      `${JSON.stringify({ result: code === 0 ? 'succeeded' : code === 1 ? 'failed' : 'refused', exitCode: code, summary }, null, 2)}\n`,
    );
    return code;
  }
  const c = summary.counts;
  const line = `fleet ${summary.action} ${inv.selection} (build ${summary.build}): ${c.succeeded} succeeded, ${c.skipped} skipped, ${c.refused} refused, ${c.failed} failed`;
  if (code === 0) p.ok(`\n✔ ${line}`);
  else p.error(`\n✖ ${line}`);
  if (summary.record) p.line(`  summary recorded in ${summary.record}`);
  if (summary.alreadyRecorded)
    p.line(`  a fleet run of this build was already recorded in ${summary.alreadyRecorded}`);
  return code;
}

/** One row per environment: state, last change, database, replicas now/recorded, health, run in progress. */
export function printStatusTable(p: Printer, rows: StatusRow[]): void {
  const header = [
    'ENVIRONMENT',
    'STATE',
    'LAST CHANGE',
    'DATABASE',
    'REPLICAS NOW/RECORDED',
    'HEALTH',
    'IN PROGRESS',
  ];
  const body = rows.map((r) => [
    r.environment,
    r.error ? `unknown (${r.error.name})` : r.state,
    r.lastChange ? `${r.lastChange.action} ${r.lastChange.build} ${r.lastChange.result}` : '-',
    r.database ?? '-',
    r.deployments.map((d) => `${d.name} ${d.exists ? d.now : 'missing'}/${d.recorded ?? '-'}`).join(', ') ||
      '-',
    r.health.checked ? `${r.health.up}/${r.health.checked} up` : '-',
    r.inProgress ? `${r.inProgress.action} ${r.inProgress.build} (${r.inProgress.step})` : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  p.line(fmt(header));
  for (const b of body) p.line(fmt(b));
  const errors = rows.filter((r) => r.error);
  for (const r of errors) p.warn(`${r.environment}: ${r.error?.name}: ${r.error?.message}`);
}
