// `cim guard [--select SEL | --all] [--dry-run]`: the seven-day guard's sweep from the CLI.
// It runs the guard's own definition on the local engine (cli/engine/local-guard.ts), as the
// daily sweep does in AWS, over the selected environments; --dry-run instead makes the reads
// the guard makes before it acts (core/guard/preview.ts) and says, per environment, what it
// would do: no write, no lock, no RDS call but Describe.
import { hostname } from 'node:os';
import { listEnvironments } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { parseSelectionArg, selectEnvironments } from '#core/config/selection';
import type { Deps } from '#core/contracts';
import { errorName } from '#core/errors';
import type { GuardEnvironmentOutcome } from '#core/guard/guard';
import { type GuardPreview, guardPreview } from '#core/guard/preview';
import { makeDeps } from '#core/wiring';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';

export interface GuardInvocation {
  command: 'guard';
  configPath: string;
  json: boolean;
  /** The selection; `*` with --all or without either. */
  select: string;
  dryRun: boolean;
  user: string;
}

/** Environments read at once by --dry-run (three reads each). */
const PREVIEW_CONCURRENCY = 16;

export async function guard(inv: GuardInvocation): Promise<number> {
  let deps: Deps;
  try {
    const config = loadConfigFile(inv.configPath);
    deps = makeDeps({
      config,
      configSource: inv.configPath,
      // The guard never talks to Kubernetes.
      kube: null,
      log: { info: () => undefined, warn: () => undefined },
    });
    deps.runner = { host: hostname(), pid: process.pid };
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
  return guardWith(inv, deps);
}

/** The command over given collaborators (tests pass the test world's, and no waits). */
export async function guardWith(
  inv: GuardInvocation,
  deps: Deps,
  o: { waitMs?: number } = {},
): Promise<number> {
  try {
    const keys = selectEnvironments(deps.config, parseSelectionArg(inv.select), deps.configSource);
    if (inv.dryRun) return printPreview(inv, await previewAll(deps, keys));
    const { runGuardLocal } = await import('../engine/local-guard.ts');
    const all = keys.length === listEnvironments(deps.config).length;
    const run = await runGuardLocal({
      deps,
      input: { sweep: true, by: inv.user, ...(all ? {} : { environments: keys }) },
      ...(o.waitMs === undefined ? { realWaits: true } : { waitMs: o.waitMs }),
    });
    const outcomes = run.summary?.environments ?? [];
    if (inv.json) {
      process.stdout.write(
        `${JSON.stringify({ status: run.status, summary: run.summary, ...(run.error ? { error: run.error } : {}) }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(outcomes.map(outcomeLine).join(''));
      if (run.summary)
        process.stdout.write(
          `guard: ${run.summary.guarded} environment(s) looked at, ${run.summary.restopped} database(s) stopped again, ${run.summary.failed} failed\n`,
        );
      if (run.error) process.stderr.write(`cim: ${run.error.Error}: ${run.error.Cause}\n`);
    }
    return run.status === 'SUCCEEDED' ? ExitCode.Done : exitCodeFor(run.error?.Error ?? 'Failed');
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}

function outcomeLine(e: GuardEnvironmentOutcome): string {
  if (e.phase === 'done') return `${e.environment}\tstopped its database again; recorded in ${e.record}\n`;
  if (e.phase === 'failed') return `${e.environment}\tFAILED: ${e.error ?? 'unknown'}\n`;
  return `${e.environment}\tleft alone: ${e.why ?? e.phase}\n`;
}

async function previewAll(deps: Deps, keys: string[]): Promise<GuardPreview[]> {
  const out: GuardPreview[] = new Array(keys.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < keys.length; i = next++) out[i] = await guardPreview(deps, keys[i] as string);
  };
  await Promise.all(Array.from({ length: Math.min(PREVIEW_CONCURRENCY, keys.length) }, worker));
  return out;
}

function printPreview(inv: GuardInvocation, previews: GuardPreview[]): number {
  if (inv.json) {
    process.stdout.write(`${JSON.stringify({ dryRun: true, environments: previews }, null, 2)}\n`);
    return ExitCode.Done;
  }
  const lines = previews.map((p) =>
    p.would === 'stop'
      ? `dry run: would stop the database of ${p.environment}: ${p.why}`
      : `dry run: skip ${p.environment} (${p.skip}): ${p.why}`,
  );
  const stops = previews.filter((p) => p.would === 'stop').length;
  process.stdout.write(
    `${lines.join('\n')}\n${stops} of ${previews.length} database(s) would be stopped. Nothing was changed.\n`,
  );
  return ExitCode.Done;
}
