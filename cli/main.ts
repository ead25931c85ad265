// The `cim` command: runs the workflow locally on the embedded engine (default) or starts
// and follows the deployed state machine (--remote). Also reads the legacy tool's
// environment variables, so a Jenkins job only swaps `python3 src/main.py` for `cim`.
// This module is the bootstrap and the dispatch: the command line is cli/args.ts, each
// command is in cli/commands/, what it prints in cli/output/.
//
// Start-up: only this module, the command line's table, the error names and the output
// helpers load with it; what a command needs (configuration, AWS SDK and Kubernetes clients,
// the engine) is imported when the command runs, so `cim --help` and a usage error load none
// of it (the built CLI keeps each in its own chunk: scripts/build-cli.ts).
import { flushCompileCache } from 'node:module';
import { CimError, errorName } from '#core/errors';
import { type Invocation, parse } from './args.ts';
import { cliMessage } from './error-hints.ts';
import { ExitCode, exitCodeFor } from './exit-codes.ts';
import { commandUsage, usage } from './output/help.ts';
import { exitOnSignal, installSignalRouter, routeCommandSignals } from './signals.ts';

export { outcomeExitCode } from './exit-codes.ts';

/** What each command runs, loaded when it runs. */
async function dispatch(inv: Invocation): Promise<number> {
  switch (inv.command) {
    case 'run':
      return (await import('./commands/run.ts')).runCommand(inv);
    case 'fleet':
      return (await import('./commands/fleet.ts')).runFleetCommand(inv);
    case 'unlock':
      return (await import('./commands/unlock.ts')).unlock(inv);
    case 'history':
      return (await import('./commands/history.ts')).history(inv);
    case 'hold':
      return (await import('./commands/hold.ts')).hold(inv);
    case 'report':
      return (await import('./commands/report.ts')).report(inv);
    case 'prices':
      return (await import('./commands/prices.ts')).prices(inv);
    case 'guard':
      return (await import('./commands/guard.ts')).guard(inv);
    case 'wake':
      return (await import('./commands/wake.ts')).wake(inv);
    case 'serve':
      return (await import('./commands/serve.ts')).serve(inv);
    case 'help':
      process.stdout.write(`${commandUsage(inv.topic)}\n`);
      return ExitCode.Done;
    case 'rbac':
      try {
        process.stdout.write(await (await import('./commands/rbac.ts')).rbacManifests(inv));
        return ExitCode.Done;
      } catch (err) {
        process.stderr.write(`cim: ${cliMessage(err)}\n`);
        return exitCodeFor(errorName(err));
      }
    case 'schema':
      return (await import('./commands/environments.ts')).printSchema();
    case 'environments':
      return (await import('./commands/environments.ts')).environments(inv);
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let inv: Invocation;
  try {
    inv = await parse(argv, env);
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n\n${usage()}\n`);
    return ExitCode.Usage;
  }
  // Nothing of these is left half-done by exiting; a run and a fleet route their own.
  // A wake routes them itself while its up or down runs (the run path's own handling).
  if (inv.command !== 'run' && inv.command !== 'fleet') routeCommandSignals(exitOnSignal);
  return dispatch(inv);
}

if (process.env.CIM_CLI_NO_MAIN !== '1') {
  // From now until the process exits, no signal takes its default action (see cli/signals.ts).
  installSignalRouter();
  // Exit as soon as the result is final. Left to end by itself, the process would first write
  // V8's compile cache (bin/cim.mjs) while tearing down, with no signal listener any more: a
  // SIGTERM in that window killed a run that had succeeded (seen in a fresh clone, whose first
  // run writes the whole cache). So the cache is written while the router still listens.
  const exit = (code: number) => {
    process.exitCode = code;
    flushCompileCache?.();
    process.exit(code);
  };
  main(process.argv.slice(2)).then(exit, (err) => {
    process.stderr.write(
      `cim: unexpected error: ${err instanceof CimError ? err.message : (err as Error).stack}\n`,
    );
    exit(ExitCode.Failed);
  });
}
