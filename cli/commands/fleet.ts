// `cim up|down|status --select SEL | --all`: a fleet. status reads every selected environment
// in parallel (read-only) and prints one row each; up/down run the fleet workflow on the local
// engine (or start the deployed one with --remote) with a live view of the environments.
import { hostname } from 'node:os';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { loadConfigFile } from '#core/config/file';
import type { Config } from '#core/config/schema';
import { parseSelectionArg, selectEnvironments } from '#core/config/selection';
import { errorName } from '#core/errors';
import { type FleetItemOutcome, type FleetSummary, fleetExitCode } from '#core/fleet/fleet';
import { fleetStatus, type StatusRow } from '#core/run/status';
import { makeDeps } from '#core/wiring';
import type { RunRequest } from '#core/workflow-steps';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';
import { makePrinter, type Printer } from '../output/printer.ts';
import { exitOnSignal, routeCommandSignals, routeSignals } from '../signals.ts';

export interface FleetInvocation {
  command: 'fleet';
  configPath: string;
  json: boolean;
  color: boolean;
  action: RunRequest['action'];
  selection: string;
  maxConcurrency: number | undefined;
  build: string | undefined;
  user: string;
  dryRun: boolean;
  remote: boolean;
  fleetStateMachineArn: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
}

const SYMBOL: Record<FleetItemOutcome['result'], string> = {
  succeeded: '✔',
  skipped: '↷',
  refused: '⊘',
  failed: '✖',
};

export async function runFleetCommand(inv: FleetInvocation): Promise<number> {
  const p = makePrinter(inv.color);
  let config: Config;
  let keys: string[];
  try {
    config = loadConfigFile(inv.configPath);
    keys = selectEnvironments(config, parseSelectionArg(inv.selection), inv.configPath);
  } catch (err) {
    process.stderr.write(`cim: ${errorName(err)}: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
  // Following a deployed fleet or reading statuses leaves nothing half-done: a signal ends it.
  if (inv.remote || inv.action === 'get_env_state') routeCommandSignals(exitOnSignal);
  if (inv.remote) {
    const { runFleetRemote } = await import('../engine/remote.ts');
    if (!inv.fleetStateMachineArn) {
      process.stderr.write(
        'cim: --remote with --select needs --fleet-state-machine-arn or CIM_FLEET_STATE_MACHINE_ARN (the stack output FleetStateMachineArn)\n',
      );
      return ExitCode.Usage;
    }
    const out = await runFleetRemote(
      inv.fleetStateMachineArn,
      fleetInput(inv),
      inv.json ? undefined : (l) => p.line(p.dim(l)),
    );
    return report(inv, p, out.summary, out.error);
  }
  let deps: ReturnType<typeof makeDeps>;
  try {
    deps = makeDeps({
      config,
      configSource: inv.configPath,
      kube: kubeconfigKube(config, inv.kubeconfig, inv.context),
      log: { info: () => undefined, warn: () => undefined },
    });
    deps.runner = { host: hostname(), pid: process.pid };
  } catch (err) {
    process.stderr.write(`cim: ${errorName(err)}: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
  if (inv.action === 'get_env_state') {
    const rows = await fleetStatus(deps, keys, inv.maxConcurrency ?? 16);
    if (inv.json) process.stdout.write(`${JSON.stringify({ environments: rows }, null, 2)}\n`);
    else printStatusTable(p, rows);
    return rows.some((r) => r.error) ? ExitCode.Failed : ExitCode.Done;
  }

  const { runFleetLocal } = await import('../engine/local-fleet.ts');
  const started = Date.now();
  const running = new Map<string, number>();
  const done: FleetItemOutcome[] = [];
  const tty = Boolean(process.stdout.isTTY) && !inv.json;
  const live = () => {
    if (!tty) return;
    const counts = { succeeded: 0, skipped: 0, refused: 0, failed: 0 };
    for (const d of done) counts[d.result]++;
    const slowest = [...running].sort((a, b) => a[1] - b[1])[0];
    const line = `  ${done.length}/${keys.length} done · ${running.size} running · ${counts.failed} failed · ${counts.refused} refused · ${((Date.now() - started) / 1000).toFixed(0)} s${slowest ? ` · slowest: ${slowest[0]} ${((Date.now() - slowest[1]) / 1000).toFixed(0)} s` : ''}`;
    process.stdout.write(`\r\u001b[K${line}`);
  };
  const ticker = tty ? setInterval(live, 1000) : undefined;
  const interrupt = new AbortController();
  // As for one environment (cli/main.ts): the first signal stops every environment at its next
  // safe point and records it, the second changes nothing (exiting then would leave locks held
  // and actions.json "running"), a third exits at once with the "not recorded" code.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(
        `\ncim: ${signal}: every environment stops at its next safe point and records it (a third signal exits at once, NOT recorded)\n`,
      );
      interrupt.abort();
    } else if (signals === 2) {
      process.stderr.write(
        `cim: ${signal} again: still stopping every environment at its next safe point and recording\n`,
      );
    } else {
      process.stderr.write(
        `cim: ${signal} a third time: exited at once; environments still running are NOT recorded and may stay locked: \`cim status --select ${inv.selection}\` shows them; \`cim unlock --customer C --env E\` each, then run them again\n`,
      );
      process.exit(ExitCode.InterruptedNotRecorded);
    }
  };
  const stopSignals = routeSignals(onSignal);
  if (!inv.json)
    p.line(
      `cim ${inv.action} fleet ${inv.selection} · ${keys.length} environment(s) · at most ${inv.maxConcurrency ?? 'as many as the RDS API budget allows'} at once · user ${inv.user}${inv.dryRun ? ' · DRY RUN' : ''} · local engine (config ${inv.configPath})`,
    );
  try {
    const run = await runFleetLocal({
      deps,
      input: fleetInput(inv),
      interrupt: interrupt.signal,
      onChildStart: (e) => {
        running.set(e, Date.now());
        live();
      },
      onChildEnd: (o) => {
        running.delete(o.environment);
        done.push(o);
        if (!inv.json) {
          if (tty) process.stdout.write('\r\u001b[K');
          const what = o.error ? `: ${o.error.name}: ${o.error.message.split('\n')[0]}` : '';
          p.line(
            `  ${SYMBOL[o.result]} ${o.environment} ${inv.action} ${o.result}${o.durationSeconds !== null ? ` in ${o.durationSeconds} s` : ''}${what} [${done.length}/${keys.length}]`,
          );
        }
        live();
      },
    });
    if (tty) process.stdout.write('\r\u001b[K');
    return report(inv, p, run.summary, run.error);
  } finally {
    if (ticker) clearInterval(ticker);
    stopSignals();
  }
}

function fleetInput(inv: FleetInvocation): Record<string, unknown> {
  return {
    action: inv.action,
    selection: inv.selection,
    user: inv.user,
    dryRun: inv.dryRun,
    ...(inv.build ? { build: inv.build } : {}),
    ...(inv.maxConcurrency ? { maxConcurrency: inv.maxConcurrency } : {}),
  };
}

function report(
  inv: FleetInvocation,
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
