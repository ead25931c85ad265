// `cim up|down|status --select SEL | --all`: a fleet. status reads every selected environment
// in parallel (read-only) and prints one row each; up/down run the fleet workflow on the local
// engine (or start the deployed one with --remote) with a live view of the environments.
import { hostname } from 'node:os';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { loadConfigFile } from '#core/config/file';
import type { Config } from '#core/config/schema';
import { parseSelectionArg, selectEnvironments } from '#core/config/selection';
import type { RunRequest } from '#core/contracts';
import { errorName } from '#core/errors';
import type { FleetItemOutcome } from '#core/fleet/fleet';
import { fleetStatus } from '#core/run/status';
import { makeDeps } from '#core/wiring';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';
import { childLine, printStatusTable, progressLine, report } from '../output/fleet.ts';
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
  if (inv.remote) return runFleetThere(inv, p);
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
  return runFleetHere(inv, p, deps, keys);
}

/** --remote: start the deployed fleet state machine and follow it. */
async function runFleetThere(inv: FleetInvocation, p: Printer): Promise<number> {
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

/**
 * As for one environment (cli/commands/run.ts): the first signal stops every environment at
 * its next safe point and records it, the second changes nothing (exiting then would leave
 * locks held and actions.json "running"), a third exits at once with the "not recorded" code.
 */
function fleetSignals(inv: FleetInvocation, interrupt: AbortController): () => void {
  let signals = 0;
  return routeSignals((signal) => {
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
  });
}

/** up/down of a fleet on the local engine, with a line per environment and a live progress line. */
async function runFleetHere(
  inv: FleetInvocation,
  p: Printer,
  deps: ReturnType<typeof makeDeps>,
  keys: string[],
): Promise<number> {
  const { runFleetLocal } = await import('../engine/local-fleet.ts');
  const started = Date.now();
  const running = new Map<string, number>();
  const done: FleetItemOutcome[] = [];
  const tty = Boolean(process.stdout.isTTY) && !inv.json;
  const live = () => {
    if (tty)
      process.stdout.write(`\r\u001b[K${progressLine(done, running, keys.length, started, Date.now())}`);
  };
  const ticker = tty ? setInterval(live, 1000) : undefined;
  const interrupt = new AbortController();
  const stopSignals = fleetSignals(inv, interrupt);
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
          p.line(childLine(o, inv.action, done.length, keys.length));
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
