// The command line: ONE table of options (what each takes, which commands accept it, what it
// does) from which come the parser's configuration, the refusal of an option a command does
// not use, and `cim --help` / `cim <command> --help` (cli/output/help.ts). The help cannot
// drift from the parser: test/unit/cli/args.test.ts checks that each names exactly what the
// other accepts.
//
// Loaded with `cim --help`: imports nothing heavy (configuration and clients load when a
// command runs; the few checks that need them import them lazily).
import { parseArgs } from 'node:util';
import { MAX_DISTRIBUTED_MAP_CONCURRENCY } from '#core/aws-limits';
import type { RunRequest } from '#core/contracts';
import type { FleetInvocation } from './commands/fleet.ts';
import type { GuardInvocation } from './commands/guard.ts';
import type { HistoryInvocation } from './commands/history.ts';
import type { HoldInvocation } from './commands/hold.ts';
import type { PricesInvocation } from './commands/prices.ts';
import type { RbacInvocation } from './commands/rbac.ts';
import type { ReportInvocation } from './commands/report.ts';
import type { RunInvocation } from './commands/run.ts';
import type { ServeInvocation } from './commands/serve.ts';
import type { UnlockInvocation } from './commands/unlock.ts';
import type { WakeInvocation } from './commands/wake.ts';
import { UsageError } from './exit-codes.ts';
import {
  ACTION_ALIASES,
  defaultUser,
  parseLegacyMode,
  refuseDisagreeingLegacyVariables,
} from './legacy-env.ts';

/**
 * What the option table names: the commands, `fleet` for up/down/status with --select or
 * --all, and `legacy` for no command at all (the old job's ACTION=... variables).
 */
export const COMMAND_KEYS = [
  'up',
  'down',
  'status',
  'fleet',
  'history',
  'hold',
  'unlock',
  'environments',
  'schema',
  'rbac',
  'report',
  'prices',
  'guard',
  'wake',
  'serve',
  'legacy',
] as const;
export type CommandKey = (typeof COMMAND_KEYS)[number];

export interface OptionSpec {
  kind: 'string' | 'boolean';
  /** The value's placeholder in the help (string options). */
  value?: string;
  short?: string;
  /** The commands that accept it; `all`: every command. */
  commands: readonly CommandKey[] | 'all';
  /** One line for the help. */
  help: string;
  /** Given twice, every value is kept; no option is today (the last one given wins). */
  repeatable?: true;
}

const RUN: readonly CommandKey[] = ['up', 'down', 'status', 'fleet', 'legacy'];
const ONE_ENV: readonly CommandKey[] = ['up', 'down', 'status', 'unlock', 'history', 'wake'];
/** Local runs (the kubeconfig): the runs, the wake's up and down, and the wake page's ups. */
const LOCAL_RUN: readonly CommandKey[] = [...RUN, 'wake', 'serve'];

/**
 * Every option. Its order is the order a refusal lists a command's options in ("it takes
 * --customer, --env, ..."), kept byte for byte from before this table (legacy mode's list
 * excepted: LEGACY_ORDER).
 */
export const OPTIONS = {
  customer: {
    kind: 'string',
    value: 'C',
    commands: ONE_ENV,
    help: 'the customer, as configured ("alpha" of alpha/dev)',
  },
  env: {
    kind: 'string',
    value: 'E',
    commands: ONE_ENV,
    help: 'the environment, as configured ("dev" of alpha/dev)',
  },
  limit: { kind: 'string', value: 'N', commands: ['history'], help: 'show the newest N builds' },
  'state-machine-arn': {
    kind: 'string',
    value: 'ARN',
    commands: ['up', 'down', 'status', 'legacy', 'wake'],
    help: '--remote: the state machine to start (default: CIM_STATE_MACHINE_ARN, then the stack outputs)',
  },
  'restore-from-build': {
    kind: 'string',
    value: 'N',
    commands: ['up'],
    help: "restore the pre-state of build N (a down, or a recorded status) instead of the last down's; see cim history",
  },
  record: {
    kind: 'boolean',
    commands: ['status'],
    help: 'write pre/post-state and actions.json like the legacy job',
  },
  select: {
    kind: 'string',
    value: 'SEL',
    commands: ['hold', 'fleet', 'report', 'prices', 'guard', 'wake'],
    help: "environments: keys, globs and label requirements, comma-separated: 'alpha/dev,beta/staging', '*/dev', 'tier=dev,team!=payments'",
  },
  all: {
    kind: 'boolean',
    commands: ['fleet', 'report', 'prices', 'guard'],
    help: 'every configured environment',
  },
  days: { kind: 'string', value: 'N', commands: ['report'], help: 'report: the last N days (default 30)' },
  out: {
    kind: 'string',
    value: 'DIR',
    commands: ['report'],
    help: 'report: where to write index.html, report.json and savings.csv (default: ./cim-report)',
  },
  prices: {
    kind: 'string',
    value: 'FILE',
    commands: ['report'],
    help: 'report: a price override file (negotiated rates) applied over the shipped table',
  },
  serve: {
    kind: 'boolean',
    commands: ['report'],
    help: 'report: then serve DIR on 127.0.0.1 (--port, default an ephemeral one) until interrupted',
  },
  port: {
    kind: 'string',
    value: 'N',
    commands: ['report', 'serve'],
    help: 'report --serve, serve: the port on 127.0.0.1 (default: any free one)',
  },
  backfill: {
    kind: 'boolean',
    commands: ['report'],
    help: 'report: index the older (legacy) history of the selection once, then write the report',
  },
  url: {
    kind: 'boolean',
    commands: ['report'],
    help: "report: instead, print a link (valid 1 hour) to the deployed report of the selection's state buckets",
  },
  'max-concurrency': {
    kind: 'string',
    value: 'N',
    commands: ['fleet'],
    help: `environments run at once (default: as many as the RDS API budget allows; status: 16; at most ${MAX_DISTRIBUTED_MAP_CONCURRENCY})`,
  },
  'fleet-state-machine-arn': {
    kind: 'string',
    value: 'ARN',
    commands: ['fleet'],
    help: '--remote: the fleet state machine to start (default: CIM_FLEET_STATE_MACHINE_ARN; the stack output FleetStateMachineArn)',
  },
  until: {
    kind: 'string',
    value: 'TIME',
    commands: ['hold'],
    help: 'ISO time with offset (2026-11-26T23:00:00+01:00) or +90m, +4h, +2d',
  },
  reason: { kind: 'string', value: 'TEXT', commands: ['hold'], help: 'why, recorded with the hold' },
  'skip-next': {
    kind: 'string',
    value: 'down|up',
    commands: ['hold'],
    help: 'skip exactly the next scheduled run of this action, then the hold ends (--until: at the latest)',
  },
  for: {
    kind: 'string',
    value: 'DURATION',
    commands: ['wake'],
    help: 'wake: how long it stays awake, 90m or 2h (default 2h, at most 12h)',
  },
  extend: {
    kind: 'string',
    value: 'DURATION',
    commands: ['wake'],
    help: "wake: move the wake's end this much later (at most 12h from now)",
  },
  end: { kind: 'boolean', commands: ['wake'], help: 'wake: put it back to sleep now (the ordinary down)' },
  sweep: {
    kind: 'boolean',
    commands: ['wake'],
    help: 'wake: put the environments whose wake has expired back to sleep (safe to run from cron)',
  },
  list: { kind: 'boolean', commands: ['hold'], help: 'list the holds, active and expired' },
  clear: { kind: 'boolean', commands: ['hold'], help: 'lift the holds of --select' },
  build: {
    kind: 'string',
    value: 'N',
    commands: ['up', 'down', 'status', 'fleet'],
    help: 'CI build id, recorded under history/{build}/ (default: generated, sortable)',
  },
  user: {
    kind: 'string',
    value: 'U',
    commands: ['hold', 'up', 'down', 'status', 'fleet', 'guard', 'wake'],
    help: 'who runs it (default: BUILD_USER, then the OS user)',
  },
  'dry-run': {
    kind: 'boolean',
    commands: ['unlock', 'hold', 'up', 'down', 'status', 'fleet', 'prices', 'guard', 'legacy'],
    help: 'read the state and print what would change; change and record nothing',
  },
  remote: {
    kind: 'boolean',
    commands: [...RUN, 'wake'],
    help: "start the deployed state machine and follow it (its ARN: --state-machine-arn or --fleet-state-machine-arn, else the stack outputs); wake: start or join the wake's execution and return, --end: the down followed",
  },
  kubeconfig: {
    kind: 'string',
    value: 'FILE',
    commands: LOCAL_RUN,
    help: 'local runs: kubeconfig to use (default: the configuration, then KUBECONFIG)',
  },
  context: {
    kind: 'string',
    value: 'NAME',
    commands: LOCAL_RUN,
    help: "local runs: the kubeconfig's context (default: the configuration, then the current one)",
  },
  cluster: {
    kind: 'string',
    value: 'NAME',
    commands: ['rbac'],
    help: 'the cluster to print for, when the configuration uses more than one',
  },
  config: {
    kind: 'string',
    value: 'FILE',
    commands: 'all',
    help: 'configuration file (default: CIM_CONFIG_FILE, then ./environments.yaml)',
  },
  json: { kind: 'boolean', commands: 'all', help: 'print one JSON result instead of the human output' },
  'no-color': {
    kind: 'boolean',
    commands: 'all',
    help: 'no colours (also: NO_COLOR, or output not a terminal)',
  },
  help: {
    kind: 'boolean',
    short: 'h',
    commands: 'all',
    help: 'print this help (cim <command> --help: that command)',
  },
} as const satisfies Record<string, OptionSpec>;
export type OptionName = keyof typeof OPTIONS;

export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

/**
 * Legacy mode lists its options in this order in a refusal (kept from before the table);
 * which options it takes is still the table's `commands`.
 */
const LEGACY_ORDER: readonly OptionName[] = [
  'dry-run',
  'remote',
  'state-machine-arn',
  'kubeconfig',
  'context',
];

/** The options a command takes beyond those every command takes, in the order a refusal lists them. */
export function optionsOf(command: CommandKey): OptionName[] {
  const taken = OPTION_NAMES.filter((o) => {
    const commands: OptionSpec['commands'] = OPTIONS[o].commands;
    return commands !== 'all' && commands.includes(command);
  });
  if (command !== 'legacy') return taken;
  const rank = (o: OptionName) => (LEGACY_ORDER.includes(o) ? LEGACY_ORDER.indexOf(o) : LEGACY_ORDER.length);
  return taken.sort((a, b) => rank(a) - rank(b));
}

export const isCommon = (o: string) => (OPTIONS as Record<string, OptionSpec>)[o]?.commands === 'all';

/** node:util parseArgs's configuration, from the table. */
function parserOptions() {
  const out: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; default?: boolean; multiple?: boolean }
  > = {};
  for (const name of OPTION_NAMES) {
    const o: OptionSpec = OPTIONS[name];
    out[name] = {
      type: o.kind,
      ...(o.short ? { short: o.short } : {}),
      ...(o.kind === 'boolean' ? { default: false } : {}),
      ...(o.repeatable ? { multiple: true } : {}),
    };
  }
  return out;
}

type Values = {
  [K in OptionName]: (typeof OPTIONS)[K]['kind'] extends 'boolean' ? boolean : string | undefined;
};

function parseOptions(argv: string[]) {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: parserOptions(),
    tokens: true,
  });
  const given = new Set(tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : [])));
  return { values: values as unknown as Values, positionals, given };
}

export interface HelpInvocation {
  command: 'help';
  /** The command whose help was asked for; none: every command. */
  topic: string | undefined;
  configPath: string;
  json: boolean;
}
export interface SimpleInvocation {
  command: 'schema' | 'environments';
  configPath: string;
  json: boolean;
}
export type Invocation =
  | RunInvocation
  | UnlockInvocation
  | FleetInvocation
  | HistoryInvocation
  | HoldInvocation
  | RbacInvocation
  | ReportInvocation
  | PricesInvocation
  | GuardInvocation
  | WakeInvocation
  | ServeInvocation
  | HelpInvocation
  | SimpleInvocation;

/**
 * The command line and the environment as one invocation. Every option given is honoured or
 * refused (exit 64 naming the option and the command), never silently dropped.
 */
export async function parse(argv: string[], env: NodeJS.ProcessEnv): Promise<Invocation> {
  const { values, positionals, given } = parseOptions(argv);
  const inv = await parseCommand(values, positionals, env);
  if (inv.command === 'help') return inv;
  refuseUnusedOptions(positionals[0], given, values.select !== undefined || values.all, env, values);
  return inv;
}

async function parseCommand(
  values: Values,
  positionals: string[],
  env: NodeJS.ProcessEnv,
): Promise<Invocation> {
  const configPath = values.config ?? env.CIM_CONFIG_FILE ?? 'environments.yaml';
  const [command, ...extra] = positionals;
  if (values.help || command === 'help')
    return { command: 'help', topic: command === 'help' ? extra[0] : command, configPath, json: values.json };
  if (command === 'prices') return parsePrices(values, extra, { configPath, json: values.json });
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const base = { configPath, json: values.json };
  if (command === 'schema' || command === 'environments') return { command, ...base };
  if (command === 'rbac') return { command, ...base, cluster: values.cluster };
  if (command === 'unlock') return parseUnlock(values, base);
  if (command === 'history') return parseHistory(values, base);
  if (command === 'report') return parseReport(values, base);
  if (command === 'guard') return parseGuard(values, base, env);
  if (values.limit !== undefined) throw new UsageError('--limit is for history only');
  if (command === 'hold') return parseHold(values, base, env);
  if (command === 'wake') return parseWake(values, base, env);
  if (command === 'serve') return parseServe(values, base);
  for (const o of ['until', 'reason', 'skip-next', 'list', 'clear'] as const)
    if (values[o]) throw new UsageError(`--${o} is for hold only`);
  const color = !values['no-color'] && !values.json && !env.NO_COLOR && Boolean(process.stdout.isTTY);
  const run = {
    ...base,
    remote: values.remote,
    stateMachineArn: values['state-machine-arn'] ?? env.CIM_STATE_MACHINE_ARN,
    kubeconfig: values.kubeconfig,
    context: values.context,
    color,
  };
  if (command === undefined) return { command: 'run', ...run, ...(await parseLegacyMode(values, env)) };
  const action = ACTION_ALIASES[command];
  if (!action) throw new UsageError(`unknown command "${command}"`);
  if (values.record && action !== 'get_env_state') throw new UsageError('--record is for status only');
  const restoreFromBuild = values['restore-from-build'];
  if (restoreFromBuild !== undefined && action !== 'up')
    throw new UsageError('--restore-from-build is for up only');
  if (values.select !== undefined || values.all) return parseFleet(values, action, color, base, env);
  if (!values.customer || !values.env)
    throw new UsageError(`${command} needs --customer and --env (or --select / --all)`);
  return {
    command: 'run',
    ...run,
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

type Base = { configPath: string; json: boolean };

function parseUnlock(values: Values, base: Base): UnlockInvocation {
  if (!values.customer || !values.env) throw new UsageError('unlock needs --customer and --env');
  return {
    command: 'unlock',
    ...base,
    dryRun: values['dry-run'],
    customer: values.customer,
    environment: values.env,
  };
}

function parseHistory(values: Values, base: Base): HistoryInvocation {
  if (!values.customer || !values.env) throw new UsageError('history needs --customer and --env');
  return {
    command: 'history',
    ...base,
    customer: values.customer,
    environment: values.env,
    limit: parseLimit(values.limit),
  };
}

function parseReport(values: Values, base: Base): ReportInvocation {
  if (values.select !== undefined && values.all)
    throw new UsageError('report takes --select or --all, not both');
  const whole = (name: string, raw: string | undefined, min: number, max: number, dflt: number) => {
    if (raw === undefined) return dflt;
    if (!/^[0-9]{1,6}$/.test(raw) || Number(raw) < min || Number(raw) > max)
      throw new UsageError(`--${name} "${raw}" must be a whole number from ${min} to ${max}`);
    return Number(raw);
  };
  if (values.port !== undefined && !values.serve) throw new UsageError('--port is for report --serve');
  if (values.url && (values.serve || values.backfill))
    throw new UsageError(
      'report --url only signs a link to the deployed report: not with --serve or --backfill',
    );
  return {
    command: 'report',
    ...base,
    select: values.all ? '*' : (values.select ?? '*'),
    days: whole('days', values.days, 1, 366, 30),
    outDir: values.out ?? 'cim-report',
    pricesFile: values.prices,
    serve: values.serve,
    port: whole('port', values.port, 0, 65535, 0),
    backfill: values.backfill,
    url: values.url,
  };
}

function parsePrices(values: Values, extra: string[], base: Base): PricesInvocation {
  if (extra[0] !== 'refresh' || extra.length > 1)
    throw new UsageError(
      extra[0] === undefined || extra[0] === 'refresh'
        ? `prices takes one subcommand: refresh${extra[1] ? ` (unexpected argument "${extra[1]}")` : ''}`
        : `unknown prices subcommand "${extra[0]}": it takes refresh`,
    );
  if (values.select !== undefined && values.all)
    throw new UsageError('prices refresh takes --select or --all, not both');
  return {
    command: 'prices',
    ...base,
    select: values.all ? '*' : (values.select ?? '*'),
    dryRun: values['dry-run'],
  };
}

function parseGuard(values: Values, base: Base, env: NodeJS.ProcessEnv): GuardInvocation {
  if (values.select !== undefined && values.all)
    throw new UsageError('guard takes --select or --all, not both');
  return {
    command: 'guard',
    ...base,
    select: values.all ? '*' : (values.select ?? '*'),
    dryRun: values['dry-run'],
    user: values.user ?? defaultUser(env),
  };
}

/** `--limit`: a positive integer, or a usage error naming what was given. */
export function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,5}$/.test(raw))
    throw new UsageError(`--limit "${raw}" must be a whole number from 1 to 999999`);
  return Number(raw);
}

function parseHold(values: Values, base: Base, env: NodeJS.ProcessEnv): HoldInvocation {
  if (values.list && values.clear) throw new UsageError('hold takes --list or --clear, not both');
  const mode = values.list ? 'list' : values.clear ? 'clear' : 'place';
  if (mode !== 'place' && (values.until || values.reason || values['skip-next']))
    throw new UsageError(`hold --${mode} takes no --until, --reason or --skip-next`);
  return {
    command: 'hold',
    ...base,
    mode,
    select: values.select,
    until: values.until,
    reason: values.reason,
    skipNext: values['skip-next'],
    user: values.user ?? defaultUser(env),
    dryRun: values['dry-run'],
  };
}

function parseServe(values: Values, base: Base): ServeInvocation {
  const raw = values.port;
  if (raw !== undefined && (!/^[0-9]{1,5}$/.test(raw) || Number(raw) > 65535))
    throw new UsageError(`--port "${raw}" must be a whole number from 0 to 65535`);
  return {
    command: 'serve',
    ...base,
    port: raw === undefined ? 0 : Number(raw),
    kubeconfig: values.kubeconfig,
    context: values.context,
  };
}

function parseWake(values: Values, base: Base, env: NodeJS.ProcessEnv): WakeInvocation {
  const modes = (['extend', 'end', 'sweep'] as const).filter(
    (m) => values[m] !== undefined && values[m] !== false,
  );
  if (modes.length > 1)
    throw new UsageError(
      `wake takes one of --extend, --end, --sweep, not ${modes.map((m) => `--${m}`).join(' and ')}`,
    );
  const mode = modes[0] ?? 'wake';
  if (values.for !== undefined && mode !== 'wake')
    throw new UsageError(`--for is for a new wake, not with --${mode}`);
  if ((values.customer === undefined) !== (values.env === undefined))
    throw new UsageError('wake needs both --customer and --env (or --select)');
  if (values.customer !== undefined && values.select !== undefined)
    throw new UsageError('wake takes --customer and --env, or --select, not both');
  if (mode !== 'sweep' && values.customer === undefined && values.select === undefined)
    throw new UsageError(
      `wake${mode === 'wake' ? '' : ` --${mode}`} needs --customer and --env (or --select)`,
    );
  return {
    command: 'wake',
    ...base,
    color: !values['no-color'] && !values.json && !env.NO_COLOR && Boolean(process.stdout.isTTY),
    mode,
    customer: values.customer,
    environment: values.env,
    select: values.select,
    duration: mode === 'extend' ? values.extend : values.for,
    user: values.user ?? defaultUser(env),
    kubeconfig: values.kubeconfig,
    context: values.context,
    remote: values.remote,
    stateMachineArn: values['state-machine-arn'] ?? env.CIM_STATE_MACHINE_ARN,
  };
}

async function parseFleet(
  values: Values,
  action: RunRequest['action'],
  color: boolean,
  base: Base,
  env: NodeJS.ProcessEnv,
): Promise<FleetInvocation> {
  if (values.customer || values.env)
    throw new UsageError('--select/--all choose the environments: leave out --customer and --env');
  if (values.select !== undefined && values.all) throw new UsageError('use --select or --all, not both');
  if (values.record)
    throw new UsageError('--record is for one environment (cim status --customer C --env E --record)');
  return {
    command: 'fleet',
    ...base,
    color,
    action,
    selection: values.all ? '*' : (values.select as string),
    maxConcurrency: await parseMaxConcurrency(values['max-concurrency']),
    build: values.build,
    user: values.user ?? defaultUser(env),
    dryRun: values['dry-run'],
    remote: values.remote,
    fleetStateMachineArn: values['fleet-state-machine-arn'] ?? env.CIM_FLEET_STATE_MACHINE_ARN,
    kubeconfig: values.kubeconfig,
    context: values.context,
  };
}

async function parseMaxConcurrency(raw: string | undefined): Promise<number | undefined> {
  if (raw === undefined) return undefined;
  const { MAX_CONCURRENCY_LIMIT } = await import('#core/fleet/fleet');
  // Digits only: Number() would also read "0x10", "1e1", " 4" and "".
  const n = /^[0-9]{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY_LIMIT)
    throw new UsageError(
      `--max-concurrency must be an integer from 1 to ${MAX_CONCURRENCY_LIMIT}, got "${raw}"`,
    );
  return n;
}

/** The option table's key for what was run: a command, `fleet` or `legacy`. */
function commandKey(command: string | undefined, fleet: boolean): CommandKey | undefined {
  const name = command === undefined ? 'legacy' : command === 'get_env_state' ? 'status' : command;
  const key = fleet && ['up', 'down', 'status'].includes(name) ? 'fleet' : name;
  return (COMMAND_KEYS as readonly string[]).includes(key) ? (key as CommandKey) : undefined;
}

/**
 * An option the command does not use is refused (exit 64 naming it and the command), and a
 * legacy variable that disagrees with the command line is refused rather than one of them
 * winning silently.
 */
function refuseUnusedOptions(
  command: string | undefined,
  given: Set<string>,
  fleet: boolean,
  env: NodeJS.ProcessEnv,
  named: { customer: string | undefined; env: string | undefined },
): void {
  const key = commandKey(command, fleet);
  if (!key) return; // an unknown command is refused by name
  const name = command === undefined ? 'legacy' : command === 'get_env_state' ? 'status' : command;
  const allowed: readonly string[] = optionsOf(key);
  const shown =
    command === undefined
      ? 'cim (legacy mode, ACTION=...)'
      : `cim ${name}${key === 'fleet' ? ' --select/--all' : ''}`;
  for (const o of given) {
    if (isCommon(o) || allowed.includes(o)) continue;
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
  refuseDisagreeingLegacyVariables(command, name, given, env, named);
}
