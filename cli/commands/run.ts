// `cim up|down|status --customer C --env E` (and legacy mode): one environment's run, on the
// local engine or, with --remote, the deployed state machine followed from here.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '#core/config/schema';
import type { RunRequest } from '#core/contracts';
import { ErrorNames, errorName } from '#core/errors';
import type { RunOutput, RunSummary } from '#core/run/record';
import type { WakeRequest } from '#core/run/wake-request';
import { cliMessage } from '../error-hints.ts';
import { classifyRun, type OutcomeContext, UsageError } from '../exit-codes.ts';
import { applyLegacy, type LegacySettings } from '../legacy-env.ts';
import { makePrinter, type Printer, progressLine } from '../output/printer.ts';
import {
  type Outcome,
  printFailure,
  printJsonResult,
  printPlanned,
  printRecords,
  printRunEnd,
  printThirdSignal,
  runResult,
} from '../output/run.ts';
import { routeSignals } from '../signals.ts';

export interface RunInvocation {
  command: 'run';
  request: {
    action: RunRequest['action'];
    customer: string;
    environment: string;
    build?: string | undefined;
    user: string;
    dryRun: boolean;
    record: boolean;
    restoreFromBuild?: string;
    /** A wake's up (cim wake): the run records the wake (issue 19). */
    wake?: WakeRequest;
  };
  configPath: string;
  legacy: LegacySettings;
  json: boolean;
  remote: boolean;
  stateMachineArn: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  color: boolean;
}

type CheckedRun = { request: RunRequest & { build: string }; config: Config | undefined };

/** The request checked and the configuration read before anything runs; a number: the exit code of a refusal. */
async function checkRun(inv: RunInvocation): Promise<CheckedRun | number> {
  const [{ loadConfigFile }, { resolveEnvironment }, workflowSteps] = await Promise.all([
    import('#core/config/file'),
    import('#core/config/catalog'),
    import('#core/contracts'),
  ]);
  const { generateBuildId, RunRequest: RunRequestSchema } = workflowSteps;
  // Refuse bad input before touching anything (the workflow's first step checks it again).
  const build = inv.request.build ?? generateBuildId(new Date());
  const parsed = RunRequestSchema.safeParse({ ...inv.request, build });
  if (!parsed.success) {
    return printFailure(
      inv.json,
      ErrorNames.InvalidInput,
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  const request = parsed.data as RunRequest & { build: string };
  let config: Config | undefined;
  try {
    // Remote runs use the deployed configuration; a local file, when there is one, still checks the input early.
    if (!inv.remote || existsSync(inv.configPath)) {
      config = applyLegacy(
        loadConfigFile(inv.configPath),
        `${request.customer}/${request.environment}`,
        inv.legacy,
      );
      resolveEnvironment(config, request.customer, request.environment, inv.configPath);
    }
  } catch (err) {
    return printFailure(inv.json, errorName(err), cliMessage(err));
  }
  return { request, config };
}

/** `extraJson`: keys a command running this one (cim wake) adds to the one JSON result. */
export async function runCommand(inv: RunInvocation, extraJson?: Record<string, unknown>): Promise<number> {
  const checked = await checkRun(inv);
  if (typeof checked === 'number') return checked;
  const { request, config } = checked;
  const p = makePrinter(inv.color);
  const where = `${request.customer}/${request.environment}`;
  const ctx: OutcomeContext = {
    action: request.action,
    where,
    unlock: `cim unlock --customer ${request.customer} --env ${request.environment}`,
  };
  if (!inv.json) {
    p.line(
      `cim ${request.action} ${where} · build ${request.build} · user ${request.user}${request.dryRun ? ' · DRY RUN' : ''} · ${inv.remote ? 'remote (AWS Step Functions)' : `local engine (config ${inv.configPath})`}`,
    );
  }
  const started = Date.now();
  let outcome: Outcome;
  // SIGINT/SIGTERM (a CI abort; many CI systems send it twice): stop at a safe point, record,
  // release the lock, exit 130. A second signal changes nothing: exiting then would leave the
  // lock held and actions.json "running" while saying "interrupted and recorded". Only a third
  // forces the exit, with its own code and the unlock command. (Table: cli/exit-codes.ts.)
  const interrupt = new AbortController();
  let signals = 0;
  const stopSignals = routeSignals((signal) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(
        `cim: ${signal}: stopping at the next safe point, then recording the interruption and releasing the lock\n`,
      );
      interrupt.abort();
    } else if (signals === 2) {
      process.stderr.write(
        `cim: ${signal} again: still stopping at the next safe point and recording, so that the lock and actions.json say what happened (a third signal exits at once, NOT recorded)\n`,
      );
    } else process.exit(printThirdSignal(inv.json, signal, ctx));
  });
  let finalCode: number | undefined;
  try {
    outcome = inv.remote
      ? await runThere(inv, config, request, p)
      : await runHere(inv, config as Config, request, p, interrupt.signal);
  } catch (err) {
    // Thrown by the run itself (not a failed execution): a local run did not record it.
    const name = err instanceof UsageError ? ErrorNames.InvalidInput : errorName(err);
    finalCode = printFailure(
      inv.json,
      name,
      cliMessage(err),
      classifyRun({ errorName: name, summary: null, local: !inv.remote }),
    );
    return finalCode;
  } finally {
    // The result is final from here: a signal now changes nothing (the process exits with it).
    stopSignals((signal) =>
      process.stderr.write(
        `cim: ${signal} after the result was final: ignored${finalCode === undefined ? '' : `, exiting ${finalCode}`}\n`,
      ),
    );
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const { causeMessage } = await import('#core/run/record');
  const r = runResult(outcome, request, !inv.remote, causeMessage);
  finalCode = r.code;
  if (inv.json) {
    printJsonResult(r, outcome, extraJson);
    return r.code;
  }
  if (printPlanned(p, r, request, seconds)) return r.code;
  if (r.out && 'records' in r.out) {
    // The output names the records (a state's output is limited to 256 KiB); print them from S3.
    printRecords(
      p,
      request,
      await expandForPrinting(config, inv.configPath, request, r.out as unknown as RunOutput),
    );
  }
  printRunEnd(p, r, request, seconds, ctx);
  return r.code;
}

/** --remote: start the deployed state machine and follow it. */
async function runThere(
  inv: RunInvocation,
  config: Config | undefined,
  request: RunRequest,
  p: Printer,
): Promise<Outcome> {
  const { runRemote } = await import('../engine/remote.ts');
  const { resolveStateMachineArn } = await import('../engine/remote-target.ts');
  const stateMachineArn = await resolveStateMachineArn({
    explicit: inv.stateMachineArn,
    stackName: config?.stack.stackName ?? 'CustomerInfraManager',
  });
  return runRemote(stateMachineArn, request, inv.json ? undefined : (line) => p.line(p.dim(line)));
}

/** A local run on the embedded engine, heartbeating its lock while it waits. */
async function runHere(
  inv: RunInvocation,
  config: Config,
  request: RunRequest & { build: string },
  p: Printer,
  interrupt: AbortSignal,
): Promise<Outcome> {
  const [{ runLocal }, { makeDeps }, { kubeconfigKube }, { resolveEnvironment }, { recordKeys }, lock_] =
    await Promise.all([
      import('../engine/local-environment.ts'),
      import('#core/wiring'),
      import('#core/clients/kubernetes'),
      import('#core/config/catalog'),
      import('#core/gateways/store'),
      import('#core/records/lock'),
    ]);
  const { HEARTBEAT_SECONDS, heartbeatLock } = lock_;
  const deps = makeDeps({
    config,
    configSource: inv.configPath,
    kube: kubeconfigKube(config, inv.kubeconfig, inv.context),
    log: {
      info: () => undefined,
      warn: (m, e) => {
        if (!inv.json) process.stderr.write(`${p.dim(`  ! ${m} ${e ? JSON.stringify(e) : ''}`)}\n`);
      },
    },
  });
  deps.runner = { host: hostname(), pid: process.pid };
  // One owner per run, even for two runs of the same build id (a re-triggered CI job).
  const executionId = `local:${hostname()}:${process.pid}:${request.build}:${randomBytes(3).toString('hex')}`;
  const env = resolveEnvironment(config, request.customer, request.environment, inv.configPath);
  const store = deps.store(env);
  const lock = { key: recordKeys(env, request.build).lock, owner: executionId };
  // Heartbeat while the run waits, so that `cim unlock` elsewhere can tell it is alive.
  const beat = setInterval(() => {
    heartbeatLock(store, lock, new Date()).catch(() => undefined);
  }, HEARTBEAT_SECONDS * 1000);
  beat.unref();
  try {
    const { kubeconfigWatchSource, localWait } = await import('../engine/readiness.ts');
    let source: ReturnType<typeof kubeconfigWatchSource> | null = null;
    try {
      source = kubeconfigWatchSource(
        inv.kubeconfig ?? config.kubernetes.kubeconfig,
        inv.context ?? config.kubernetes.context,
      );
    } catch {
      // No usable kubeconfig for a watch: the waits re-check every second instead.
    }
    return await runLocal({
      deps,
      input: request as unknown as Record<string, unknown>,
      executionId,
      interrupt,
      // Waits end when the deployments are ready (Kubernetes watch), not at the next scheduled check.
      localWait: localWait({ source }),
      onEvent: (e) => {
        if (inv.json || !('state' in e)) return;
        const line = progressLine(e.type, e.state.name, e.state.output);
        if (line) p.line(p.dim(line));
      },
    });
  } finally {
    clearInterval(beat);
  }
}

/** The run's summary with its records read back from S3 (without a local configuration: what the output says). */
async function expandForPrinting(
  config: Config | undefined,
  configPath: string,
  request: RunRequest,
  out: RunOutput,
): Promise<RunSummary> {
  const [{ expandSummary }, { resolveEnvironment }, { S3StateStore, s3ClientFor }] = await Promise.all([
    import('#core/run/record'),
    import('#core/config/catalog'),
    import('#core/clients/s3-store'),
  ]);
  let store: InstanceType<typeof S3StateStore> | null = null;
  if (config) {
    const env = resolveEnvironment(config, request.customer, request.environment, configPath);
    store = new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
  }
  return expandSummary(store, out);
}
