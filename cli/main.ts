// The `cim` command: runs the workflow locally on the embedded engine (default) or starts
// and follows the deployed state machine (--remote). Also reads the legacy tool's
// environment variables, so a Jenkins job only swaps `python3 src/main.py` for `cim`.
//
// Start-up: only this module, the error names and the output helpers load with it; what a
// command needs (configuration, AWS SDK and Kubernetes clients, the engine) is imported
// when the command runs, so `cim --help` and a usage error load none of it (the built CLI
// keeps each in its own chunk: scripts/build-cli.ts).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '#core/config/schema';
import type { RunRequest } from '#core/contracts';
import { CimError, ErrorNames, errorMessage, errorName } from '#core/errors';
import type { DryRunPlan } from '#core/run/plan';
import type { RunOutput, RunSummary } from '#core/run/record';
import type { HistoryInvocation } from './commands/history.ts';
import type { HoldInvocation } from './commands/hold.ts';
import type { RbacInvocation } from './commands/rbac.ts';
import {
  classifyRun,
  ExitCode,
  exitCodeFor,
  exitCodeHelp,
  type OutcomeContext,
  outcomeFields,
  RUN_OUTCOMES,
  type RunOutcome,
} from './exit-codes.ts';
import {
  makePrinter,
  type Printer,
  printLegacySections,
  printStatus,
  progressLine,
  renderPlan,
} from './output/printer.ts';
import { exitOnSignal, installSignalRouter, routeCommandSignals, routeSignals } from './signals.ts';

const USAGE = `Usage:
  cim up|down|status --customer C --env E [--build N] [--user U] [--config FILE]
                     [--dry-run] [--json] [--remote [--state-machine-arn ARN]]
                     [--kubeconfig FILE] [--context NAME] [--no-color] [--record]
  cim up|down|status --select SEL | --all [--max-concurrency N] [--json] [--remote]
                                       a fleet: every environment the selection names
  cim up --customer C --env E --restore-from-build N   restore the counts of build N's pre-state
  cim history --customer C --env E [--limit N] [--json]   the builds, newest first (read-only)
  cim hold --select SEL --until TIME [--reason TEXT] [--skip-next down|up]
                                       skip scheduled runs of SEL until TIME (manual runs go ahead)
  cim hold --list [--select SEL]       holds, active and expired
  cim hold --clear --select SEL        lift the holds
  cim unlock --customer C --env E      clear the lock of a run that is provably gone
  cim environments [--config FILE]     list the configured environments, resolved
  cim schema                           print the configuration's JSON Schema
  cim rbac [--cluster NAME]            print the Roles and RoleBindings that give the stack's
                                       Kubernetes groups access to the configured namespaces
                                       of one cluster (kubectl apply -f -)
  cim                                  legacy mode: reads ACTION, CUSTOMER, ENVIRONMENT,
                                       BUILD_NUMBER, BUILD_USER, EKS_CLUSTER, AWS_REGION,
                                       S3_BUCKET_NAME, S3_REGION like the old main.py

Commands:
  down     record the state, scale every deployment to 0, stop the database, wait until stopped
  up       start the database, wait until available, restore the replica counts recorded before
           the last down, wait until deployments are available and health URLs answer
  status   report deployments, database and application health, and a run in progress;
           read-only, never locked (alias: get_env_state; --record writes the legacy records)
  unlock   remove the environment lock when the run holding it has died (a killed CI job);
           refused while that run is alive

Options:
  --customer, --env   the environment, as configured ("alpha" and "dev" for alpha/dev)
  --build             CI build id, recorded under history/{build}/ (default: generated, sortable)
  --user              who runs it (default: BUILD_USER, then the OS user)
  --config            configuration file (default: CIM_CONFIG_FILE, then ./environments.yaml)
  --dry-run           read the state and print what would change; change and record nothing
  --json              print one JSON result instead of the human output
  --remote            start the deployed state machine and follow it; its ARN comes from the
                      stack's outputs (stack.stackName) unless --state-machine-arn or
                      CIM_STATE_MACHINE_ARN gives it
  --kubeconfig        local runs: kubeconfig to use (default: config, then KUBECONFIG)

  --record            status: write pre/post-state and actions.json like the legacy job
  --select            fleets: keys, globs and label requirements, comma-separated:
                      'alpha/dev,beta/staging', '*/dev', 'tier=dev,team!=payments'
  --all               fleets: every configured environment
  --max-concurrency   fleets: environments run at once (default 10, at most 100)

Fleet exit codes: 0 every environment succeeded or was already in the asked state,
            1 any failed, 2 some were refused, 64 bad selection (nothing ran)
  --restore-from-build  up: restore the pre-state of this build (a down, or a recorded status)
                        instead of the last down's; see cim history
  --limit             history: show the newest N builds
  --select            hold: environments, e.g. "alpha/dev", "*/dev", "tier=dev,team!=payments"
  --until             hold: ISO time with offset (2026-11-26T23:00:00+01:00) or +90m, +4h, +2d

${exitCodeHelp()}`;

class UsageError extends Error {}

interface Invocation {
  request: {
    action: RunRequest['action'];
    customer: string;
    environment: string;
    build?: string | undefined;
    user: string;
    dryRun: boolean;
    record: boolean;
    restoreFromBuild?: string;
  };
  configPath: string;
  legacy: Partial<Record<'cluster' | 'region' | 'bucket' | 'bucketRegion', string>>;
  json: boolean;
  remote: boolean;
  stateMachineArn: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  color: boolean;
}

const ACTION_ALIASES: Record<string, RunRequest['action']> = {
  up: 'up',
  down: 'down',
  status: 'get_env_state',
  get_env_state: 'get_env_state',
};

function defaultUser(env: NodeJS.ProcessEnv): string {
  if (env.BUILD_USER) return env.BUILD_USER;
  try {
    return userInfo().username || 'cim';
  } catch {
    return 'cim';
  }
}

/** DRY_RUN and the like: only true/false/1/0 (any case); anything else is a usage error. */
function strictBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new UsageError(`${name}="${value}" is not a boolean: use true, false, 1 or 0`);
}

const COMMON_OPTIONS = ['config', 'json', 'no-color', 'help'];
const RUN_OPTIONS = ['build', 'user', 'dry-run', 'remote', 'kubeconfig', 'context'];
/** The options each command uses; any other given is refused, never silently dropped. */
const OPTIONS_OF: Record<string, readonly string[]> = {
  schema: [],
  environments: [],
  rbac: ['cluster'],
  unlock: ['customer', 'env', 'dry-run'],
  history: ['customer', 'env', 'limit'],
  hold: ['select', 'until', 'reason', 'skip-next', 'list', 'clear', 'user', 'dry-run'],
  up: ['customer', 'env', 'state-machine-arn', 'restore-from-build', ...RUN_OPTIONS],
  down: ['customer', 'env', 'state-machine-arn', ...RUN_OPTIONS],
  status: ['customer', 'env', 'state-machine-arn', 'record', ...RUN_OPTIONS],
  fleet: ['select', 'all', 'max-concurrency', 'fleet-state-machine-arn', ...RUN_OPTIONS],
  legacy: ['dry-run', 'remote', 'state-machine-arn', 'kubeconfig', 'context'],
};

/**
 * Every option given is honoured or refused (exit 64 naming the option and the command), and
 * a legacy variable that disagrees with the command line is refused rather than one of them
 * winning silently.
 */
function refuseUnusedOptions(
  command: string | undefined,
  given: Set<string>,
  fleet: boolean,
  env: NodeJS.ProcessEnv,
  named: { customer: string | undefined; env: string | undefined },
): void {
  const name = command === undefined ? 'legacy' : command === 'get_env_state' ? 'status' : command;
  const key = fleet && ['up', 'down', 'status'].includes(name) ? 'fleet' : name;
  const allowed = OPTIONS_OF[key];
  if (!allowed) return; // an unknown command is refused by name below
  const shown =
    command === undefined
      ? 'cim (legacy mode, ACTION=...)'
      : `cim ${name}${key === 'fleet' ? ' --select/--all' : ''}`;
  for (const o of given) {
    if (COMMON_OPTIONS.includes(o) || allowed.includes(o)) continue;
    const hint =
      o === 'restore-from-build' && key === 'fleet'
        ? ': a restore build belongs to one environment (cim up --customer C --env E --restore-from-build N)'
        : `; it takes ${allowed.map((a) => `--${a}`).join(', ') || 'only --config and --json'}`;
    throw new UsageError(`--${o} is not an option of ${shown}${hint}`);
  }
  const remoteOnly = ['state-machine-arn', 'fleet-state-machine-arn'].filter((o) => given.has(o));
  if (remoteOnly.length && !given.has('remote'))
    throw new UsageError(`--${remoteOnly[0]} is for --remote runs of ${shown}: add --remote or leave it out`);
  const localOnly = ['kubeconfig', 'context'].filter((o) => given.has(o));
  if (localOnly.length && given.has('remote'))
    throw new UsageError(
      `--${localOnly[0]} is for local runs of ${shown}: a --remote run uses the deployed functions' EKS access; leave it out`,
    );
  if (command === undefined) {
    if (given.has('dry-run') && env.DRY_RUN !== undefined && /^(false|0)$/i.test(env.DRY_RUN.trim()))
      throw new UsageError(`DRY_RUN="${env.DRY_RUN}" and --dry-run disagree: drop one of them`);
    return;
  }
  // Legacy variables left in a job's environment must not contradict the command line.
  const action = ACTION_ALIASES[name];
  if (action && env.ACTION && ACTION_ALIASES[env.ACTION] !== action)
    throw new UsageError(
      `ACTION="${env.ACTION}" disagrees with the command "${name}": unset ACTION or run cim ${env.ACTION}`,
    );
  const pairs = [
    ['CUSTOMER', 'customer'],
    ['ENVIRONMENT', 'env'],
  ] as const;
  for (const [variable, option] of pairs) {
    const value = named[option];
    if (value !== undefined && env[variable] && env[variable] !== value)
      throw new UsageError(
        `${variable}="${env[variable]}" disagrees with --${option} ${value}: unset ${variable} or make them agree`,
      );
  }
  if (action && env.DRY_RUN !== undefined && env.DRY_RUN.trim() !== '') {
    const v = env.DRY_RUN.trim().toLowerCase();
    const legacyDry = v === 'true' || v === '1';
    if (legacyDry !== given.has('dry-run') && (legacyDry || given.has('dry-run')))
      throw new UsageError(
        `DRY_RUN="${env.DRY_RUN}" disagrees with ${given.has('dry-run') ? '--dry-run' : `the command line (no --dry-run): cim ${name} would change the environment`}; unset DRY_RUN or make them agree`,
      );
  }
}

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

interface Unlock {
  command: 'unlock';
  configPath: string;
  json: boolean;
  dryRun: boolean;
  customer: string;
  environment: string;
}

const CLI_OPTIONS = {
  customer: { type: 'string' },
  env: { type: 'string' },
  build: { type: 'string' },
  user: { type: 'string' },
  config: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  remote: { type: 'boolean', default: false },
  'state-machine-arn': { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'no-color': { type: 'boolean', default: false },
  record: { type: 'boolean', default: false },
  select: { type: 'string' },
  all: { type: 'boolean', default: false },
  'max-concurrency': { type: 'string' },
  'fleet-state-machine-arn': { type: 'string' },
  'restore-from-build': { type: 'string' },
  limit: { type: 'string' },
  until: { type: 'string' },
  reason: { type: 'string' },
  'skip-next': { type: 'string' },
  list: { type: 'boolean', default: false },
  clear: { type: 'boolean', default: false },
  cluster: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The command line, after the per-command checks: any option left unused is refused. */
async function parse(argv: string[], env: NodeJS.ProcessEnv): ReturnType<typeof parseCommandLine> {
  const inv = await parseCommandLine(argv, env);
  if ('command' in inv && inv.command === 'help') return inv;
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: CLI_OPTIONS,
    tokens: true,
  });
  refuseUnusedOptions(
    positionals[0],
    new Set(tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : []))),
    values.select !== undefined || values.all,
    env,
    { customer: values.customer, env: values.env },
  );
  return inv;
}

async function parseCommandLine(
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<
  | Invocation
  | Unlock
  | FleetInvocation
  | HistoryInvocation
  | HoldInvocation
  | RbacInvocation
  | { command: 'help' | 'schema' | 'environments'; configPath: string; json: boolean }
> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: CLI_OPTIONS,
  });
  const configPath = values.config ?? env.CIM_CONFIG_FILE ?? 'environments.yaml';
  const [command, ...extra] = positionals;
  if (values.help || command === 'help') return { command: 'help', configPath, json: values.json };
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);

  if (command === 'schema' || command === 'environments') return { command, configPath, json: values.json };
  if (command === 'rbac') return { command, configPath, json: values.json, cluster: values.cluster };
  if (command === 'unlock') {
    if (!values.customer || !values.env) throw new UsageError('unlock needs --customer and --env');
    return {
      command,
      configPath,
      json: values.json,
      dryRun: values['dry-run'],
      customer: values.customer,
      environment: values.env,
    };
  }
  if (command === 'history') {
    if (!values.customer || !values.env) throw new UsageError('history needs --customer and --env');
    const { parseLimit } = await import('./commands/history.ts');
    const limit = parseLimit(values.limit);
    if (limit instanceof Error) throw new UsageError(limit.message);
    return {
      command,
      configPath,
      json: values.json,
      customer: values.customer,
      environment: values.env,
      limit,
    };
  }
  if (values.limit !== undefined) throw new UsageError('--limit is for history only');
  if (command === 'hold') {
    if (values.list && values.clear) throw new UsageError('hold takes --list or --clear, not both');
    const mode = values.list ? 'list' : values.clear ? 'clear' : 'place';
    if (mode !== 'place' && (values.until || values.reason || values['skip-next']))
      throw new UsageError(`hold --${mode} takes no --until, --reason or --skip-next`);
    return {
      command,
      configPath,
      json: values.json,
      mode,
      select: values.select,
      until: values.until,
      reason: values.reason,
      skipNext: values['skip-next'],
      user: values.user ?? defaultUser(env),
      dryRun: values['dry-run'],
    };
  }
  for (const o of ['until', 'reason', 'skip-next', 'list', 'clear'] as const)
    if (values[o]) throw new UsageError(`--${o} is for hold only`);
  const color = !values['no-color'] && !values.json && !env.NO_COLOR && Boolean(process.stdout.isTTY);
  const common = {
    configPath,
    json: values.json,
    remote: values.remote,
    stateMachineArn: values['state-machine-arn'] ?? env.CIM_STATE_MACHINE_ARN,
    kubeconfig: values.kubeconfig,
    context: values.context,
    color,
  };
  if (command === undefined) {
    if (!env.ACTION) throw new UsageError('no command given and ACTION is not set (legacy mode)');
    const action = ACTION_ALIASES[env.ACTION];
    if (!action) throw new UsageError(`ACTION="${env.ACTION}" is not one of up, down, get_env_state`);
    for (const v of ['CUSTOMER', 'ENVIRONMENT'] as const)
      if (!env[v]) throw new UsageError(`legacy mode needs ${v} to be set`);
    const legacy: Invocation['legacy'] = {};
    const { Settings } = await import('#core/config/schema');
    const vars = [
      ['EKS_CLUSTER', 'cluster'],
      ['AWS_REGION', 'region'],
      ['S3_BUCKET_NAME', 'bucket'],
      ['S3_REGION', 'bucketRegion'],
    ] as const;
    for (const [name, field] of vars) {
      const value = env[name];
      if (!value) continue;
      // Checked here so that the message names the variable, not a path in the file.
      const checked = Settings.shape[field].safeParse(value);
      if (!checked.success)
        throw new UsageError(`${name}="${value}" ${checked.error.issues[0]?.message ?? 'is not valid'}`);
      legacy[field] = value;
    }
    return {
      ...common,
      request: {
        action,
        customer: env.CUSTOMER ?? '',
        environment: env.ENVIRONMENT ?? '',
        build: env.BUILD_NUMBER,
        user: defaultUser(env),
        dryRun: values['dry-run'] || strictBoolean('DRY_RUN', env.DRY_RUN),
        // The legacy job recorded every get_env_state; an unchanged job keeps doing so.
        record: action === 'get_env_state',
      },
      legacy,
    };
  }
  const action = ACTION_ALIASES[command];
  if (!action) throw new UsageError(`unknown command "${command}"`);
  if (values.record && action !== 'get_env_state') throw new UsageError('--record is for status only');
  const restoreFromBuild = values['restore-from-build'];
  if (restoreFromBuild !== undefined && action !== 'up')
    throw new UsageError('--restore-from-build is for up only');
  if (values.select !== undefined || values.all) {
    if (values.customer || values.env)
      throw new UsageError('--select/--all choose the environments: leave out --customer and --env');
    if (values.select !== undefined && values.all) throw new UsageError('use --select or --all, not both');
    if (values.record)
      throw new UsageError('--record is for one environment (cim status --customer C --env E --record)');
    let maxConcurrency: number | undefined;
    if (values['max-concurrency'] !== undefined) {
      const { MAX_CONCURRENCY_LIMIT } = await import('#core/fleet/fleet');
      // Digits only: Number() would also read "0x10", "1e1", " 4" and "".
      maxConcurrency = /^[0-9]{1,6}$/.test(values['max-concurrency'])
        ? Number(values['max-concurrency'])
        : Number.NaN;
      if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > MAX_CONCURRENCY_LIMIT)
        throw new UsageError(
          `--max-concurrency must be an integer from 1 to ${MAX_CONCURRENCY_LIMIT}, got "${values['max-concurrency']}"`,
        );
    }
    return {
      command: 'fleet',
      configPath,
      json: values.json,
      color: common.color,
      action,
      selection: values.all ? '*' : (values.select as string),
      maxConcurrency,
      build: values.build,
      user: values.user ?? defaultUser(env),
      dryRun: values['dry-run'],
      remote: values.remote,
      fleetStateMachineArn: values['fleet-state-machine-arn'] ?? env.CIM_FLEET_STATE_MACHINE_ARN,
      kubeconfig: values.kubeconfig,
      context: values.context,
    };
  }
  if (!values.customer || !values.env)
    throw new UsageError(`${command} needs --customer and --env (or --select / --all)`);
  return {
    ...common,
    request: {
      action,
      customer: values.customer,
      environment: values.env,
      build: values.build,
      user: values.user ?? defaultUser(env),
      dryRun: values['dry-run'],
      record: values.record,
      ...(restoreFromBuild !== undefined ? { restoreFromBuild } : {}),
    },
    legacy: {},
  };
}

/** Legacy variables win over the file, for this environment only. */
function applyLegacy(config: Config, key: string, legacy: Invocation['legacy']): Config {
  if (!Object.keys(legacy).length || !(key in config.environments)) return config;
  return {
    ...config,
    environments: { ...config.environments, [key]: { ...(config.environments[key] ?? {}), ...legacy } },
  };
}

interface Outcome {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error?: { Error: string; Cause: string } | undefined;
  path: string[];
}

async function runHere(
  inv: Invocation,
  config: Config,
  request: RunRequest & { build: string },
  p: Printer,
  interrupt: AbortSignal,
): Promise<Outcome> {
  const [{ runLocal }, { makeDeps }, { kubeconfigKube }, { resolveEnvironment }, { recordKeys }, lock_] =
    await Promise.all([
      import('./engine/local-environment.ts'),
      import('#core/wiring'),
      import('#core/clients/kubernetes'),
      import('#core/config/schema'),
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
    const { kubeconfigWatchSource, localWait } = await import('./engine/readiness.ts');
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

async function unlock(inv: Unlock): Promise<number> {
  let config: Config;
  try {
    const [{ loadConfigFile }, { resolveEnvironment }, { recordKeys }, { S3StateStore, s3ClientFor }, lock] =
      await Promise.all([
        import('#core/config/file'),
        import('#core/config/schema'),
        import('#core/gateways/store'),
        import('#core/clients/s3-store'),
        import('#core/records/lock'),
      ]);
    const { describeHolder, unlockEnvironment } = lock;
    config = loadConfigFile(inv.configPath);
    const env = resolveEnvironment(config, inv.customer, inv.environment, inv.configPath);
    const store = new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
    const key = recordKeys(env, '_').lock;
    const outcome = await unlockEnvironment(
      store,
      key,
      {
        host: hostname(),
        processAlive: (pid) => {
          try {
            process.kill(pid, 0);
            return true;
          } catch (err) {
            return (err as NodeJS.ErrnoException).code === 'EPERM';
          }
        },
        executionStatus: async (arn) => {
          try {
            const { SFNClient, DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');
            const out = await new SFNClient({}).send(new DescribeExecutionCommand({ executionArn: arn }));
            return out.status ?? null;
          } catch {
            return null;
          }
        },
      },
      new Date(),
      { dryRun: inv.dryRun },
    );
    const where = `${inv.customer}/${inv.environment}`;
    if (inv.json) process.stdout.write(`${JSON.stringify({ environment: where, ...outcome }, null, 2)}\n`);
    if (outcome.status === 'absent') {
      if (!inv.json)
        process.stdout.write(`${where} is not locked (s3://${env.bucket}/${key} does not exist)\n`);
      return ExitCode.Done;
    }
    if (outcome.status === 'would-clear') {
      if (!inv.json)
        process.stdout.write(
          `dry run: would clear the lock of ${where}: it is held by ${describeHolder(outcome.held)}; ${outcome.why}. Nothing was changed.\n`,
        );
      return ExitCode.Done;
    }
    if (outcome.status === 'cleared') {
      if (!inv.json)
        process.stdout.write(
          `cleared the lock of ${where}: it was held by ${describeHolder(outcome.held)}; ${outcome.why}.\nIts intent record keeps the restore point: run down or up as usual.\n`,
        );
      return ExitCode.Done;
    }
    if (!inv.json)
      process.stderr.write(
        `cim: refused to unlock ${where}: it is held by ${describeHolder(outcome.held)}, and ${outcome.why}. Wait for it to end (cim status --customer ${inv.customer} --env ${inv.environment}).\n`,
      );
    return ExitCode.Refused;
  } catch (err) {
    process.stderr.write(`cim: ${errorMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let inv: Awaited<ReturnType<typeof parse>>;
  try {
    inv = await parse(argv, env);
  } catch (err) {
    process.stderr.write(`cim: ${errorMessage(err)}\n\n${USAGE}\n`);
    return ExitCode.Usage;
  }
  if ('command' in inv) {
    // Nothing of these is left half-done by exiting; a fleet routes its own (fleet-command.ts).
    if (inv.command !== 'fleet') routeCommandSignals(exitOnSignal);
    if (inv.command === 'unlock') return unlock(inv);
    if (inv.command === 'fleet') {
      const { runFleetCommand } = await import('./commands/fleet.ts');
      return runFleetCommand(inv);
    }
    if (inv.command === 'history') return (await import('./commands/history.ts')).history(inv);
    if (inv.command === 'hold') return (await import('./commands/hold.ts')).hold(inv);
    if (inv.command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return ExitCode.Done;
    }
    if (inv.command === 'rbac') {
      try {
        process.stdout.write(await (await import('./commands/rbac.ts')).rbacManifests(inv));
        return ExitCode.Done;
      } catch (err) {
        process.stderr.write(`cim: ${errorMessage(err)}\n`);
        return exitCodeFor(errorName(err));
      }
    }
    if (inv.command === 'schema') {
      const { configJsonSchema } = await import('#core/config/file');
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return ExitCode.Done;
    }
    try {
      const [{ loadConfigFile }, { resolveEnvironment }] = await Promise.all([
        import('#core/config/file'),
        import('#core/config/schema'),
      ]);
      const config = loadConfigFile(inv.configPath);
      const list = Object.keys(config.environments).map((k) => {
        const [c = '', e = ''] = k.split('/');
        return resolveEnvironment(config, c, e, inv.configPath);
      });
      process.stdout.write(
        inv.json
          ? `${JSON.stringify(list, null, 2)}\n`
          : `${list.map((e) => `${e.customer}/${e.environment}\tnamespace ${e.namespace}\t${e.database.kind} ${e.database.identifier}\tdeployments ${e.deployments.map((d) => d.name).join(',')}\ts3://${e.bucket}/${e.keyPrefix}/`).join('\n')}\n`,
      );
      return ExitCode.Done;
    } catch (err) {
      process.stderr.write(`cim: ${errorMessage(err)}\n`);
      return exitCodeFor(errorName(err));
    }
  }

  const p = makePrinter(inv.color);
  const context = (customer: string, environment: string, action: string): OutcomeContext => ({
    action,
    where: `${customer}/${environment}`,
    unlock: `cim unlock --customer ${customer} --env ${environment}`,
  });
  const fail = (
    name: string,
    message: string,
    outcome: RunOutcome = classifyRun({ errorName: name, summary: null, local: false }),
  ): number => {
    const code = RUN_OUTCOMES[outcome].code;
    if (inv.json)
      process.stdout.write(
        `${JSON.stringify({ ...outcomeFields(outcome), error: { name, message } }, null, 2)}\n`,
      );
    else process.stderr.write(`cim: ${name}: ${message}\n`);
    return code;
  };

  const [
    { loadConfigFile },
    { resolveEnvironment },
    { generateBuildId, RunRequest: RunRequestSchema },
    { causeMessage },
  ] = await Promise.all([
    import('#core/config/file'),
    import('#core/config/schema'),
    import('#core/contracts'),
    import('#core/run/record'),
  ]);
  // Refuse bad input before touching anything (the workflow's first step checks it again).
  const build = inv.request.build ?? generateBuildId(new Date());
  const parsed = RunRequestSchema.safeParse({ ...inv.request, build });
  if (!parsed.success) {
    return fail(
      ErrorNames.InvalidInput,
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  const request = parsed.data;
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
    return fail(errorName(err), errorMessage(err));
  }

  const where = `${request.customer}/${request.environment}`;
  const ctx = context(request.customer, request.environment, request.action);
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
  const onSignal = (signal: NodeJS.Signals) => {
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
    } else {
      const row = RUN_OUTCOMES['interrupted-not-recorded'];
      const message = `${signal} a third time: exited at once. ${row.message(ctx)}`;
      if (inv.json)
        process.stdout.write(
          `${JSON.stringify({ ...outcomeFields('interrupted-not-recorded'), error: { name: ErrorNames.Interrupted, message } }, null, 2)}\n`,
        );
      process.stderr.write(`cim: ${message}\n`);
      process.exit(row.code);
    }
  };
  const stopSignals = routeSignals(onSignal);
  let finalCode: number | undefined;
  try {
    if (inv.remote) {
      const { runRemote } = await import('./engine/remote.ts');
      const { resolveStateMachineArn } = await import('./engine/remote-target.ts');
      const stateMachineArn = await resolveStateMachineArn({
        explicit: inv.stateMachineArn,
        stackName: config?.stack.stackName ?? 'CustomerInfraManager',
      });
      outcome = await runRemote(
        stateMachineArn,
        request,
        inv.json ? undefined : (line) => p.line(p.dim(line)),
      );
    } else {
      outcome = await runHere(
        inv,
        config as Config,
        request as RunRequest & { build: string },
        p,
        interrupt.signal,
      );
    }
  } catch (err) {
    // Thrown by the run itself (not a failed execution): a local run did not record it.
    const name = err instanceof UsageError ? ErrorNames.InvalidInput : errorName(err);
    finalCode = fail(
      name,
      errorMessage(err),
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

  const errName = outcome.error?.Error;
  const out = outcome.output as (RunSummary & Partial<DryRunPlan>) | null;
  const result = classifyRun({
    errorName: errName,
    summary: out,
    local: !inv.remote,
    dryRun: request.dryRun,
  });
  const row = RUN_OUTCOMES[result];
  const code = row.code;
  finalCode = code;
  const message = outcome.error ? causeMessage(outcome.error.Cause) : undefined;
  if (inv.json) {
    process.stdout.write(
      `${JSON.stringify({ ...outcomeFields(result, { summary: out }), ...(outcome.error ? { error: { name: errName, message } } : {}), output: outcome.output, path: outcome.path }, null, 2)}\n`,
    );
    return code;
  }
  if (result === 'planned' && out && 'plan' in out) {
    p.line('\nDry run: nothing was changed or recorded. The run would:');
    for (const step of renderPlan(out as DryRunPlan)) p.line(`  - ${step}`);
    p.ok(`\n✔ dry run of ${request.action} ${where} planned in ${seconds} s`);
    return code;
  }
  if (out && 'records' in out) {
    // The output names the records (a state's output is limited to 256 KiB); print them from S3.
    const full = await expandForPrinting(config, inv.configPath, request, out as unknown as RunOutput);
    if (request.action === 'get_env_state' && !request.record) printStatus(p, full);
    else printLegacySections(p, full);
  }
  switch (result) {
    case 'succeeded':
    case 'planned':
      p.ok(`\n✔ ${request.action} ${where} succeeded in ${seconds} s (build ${request.build})`);
      break;
    case 'succeeded-lock-left':
      p.ok(`\n✔ ${request.action} ${where} succeeded in ${seconds} s (build ${request.build})`);
      p.warn(`  ${row.message(ctx)}`);
      break;
    case 'refused':
    case 'invalid':
    case 'lock-lost-before-change':
      p.error(`\n✖ ${request.action} ${where} refused: ${message}\n  Nothing was changed.`);
      break;
    case 'interrupted':
      p.error(
        `\n✖ ${request.action} ${where} interrupted after ${seconds} s; ${out?.recorded === 'nothing-changed' ? 'it stopped before its first change: nothing to record' : 'recorded as interrupted'}; lock ${out?.lock ?? 'unknown'}. Run the same action again to finish it.`,
      );
      break;
    case 'interrupted-not-recorded':
      p.error(
        `\n✖ ${request.action} ${where} interrupted after ${seconds} s; lock ${out?.lock ?? 'unknown'}.`,
      );
      p.error(`  ${row.message(ctx)}`);
      break;
    case 'failed-not-recorded':
      p.error(
        `\n✖ ${request.action} ${where} failed after ${seconds} s: ${errName}: ${message}\n  The failure could NOT be recorded in S3 or the lock released (recorded: ${String(out?.recorded ?? 'unknown')}, lock ${out?.lock ?? 'unknown'}). The intent record written before the first change keeps the restore point.`,
      );
      p.error(`  ${row.message(ctx)}`);
      break;
    default:
      p.error(`\n✖ ${request.action} ${where} failed after ${seconds} s: ${errName}: ${message}`);
      if (out?.records?.length)
        p.line(`  The failure is recorded in ${out.records.at(-1)}; lock ${out.lock}.`);
      else if (out?.recorded === 'nothing-changed')
        p.line(`  It stopped before its first change: nothing to record; lock ${out.lock}.`);
  }
  return code;
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
    import('#core/config/schema'),
    import('#core/clients/s3-store'),
  ]);
  let store: InstanceType<typeof S3StateStore> | null = null;
  if (config) {
    const env = resolveEnvironment(config, request.customer, request.environment, configPath);
    store = new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
  }
  return expandSummary(store, out);
}

/** Exit code of a finished run: its row in RUN_OUTCOMES (cli/exit-codes.ts). */
export function outcomeExitCode(
  errName: string | undefined,
  out: Partial<RunSummary> | null,
  local = true,
): ExitCode {
  return RUN_OUTCOMES[classifyRun({ errorName: errName, summary: out, local })].code;
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
