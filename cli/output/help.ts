// `cim --help` and `cim <command> --help`, generated from the option table (cli/args.ts) and
// the commands' descriptions below: every option the parser accepts is in it, with the
// commands that take it.
import {
  type CommandKey,
  isCommon,
  OPTION_NAMES,
  OPTIONS,
  type OptionName,
  type OptionSpec,
  optionsOf,
} from '../args.ts';
import { exitCodeHelp } from '../exit-codes.ts';
import { LEGACY_HELP } from '../legacy-env.ts';

interface CommandHelp {
  /** The usage line(s), after `cim `. */
  usage: readonly string[];
  /** What it does: one or a few lines. */
  does: string;
  /** Said after its options, if anything. */
  note?: string;
}

export const COMMAND_HELP: Record<Exclude<CommandKey, 'legacy'>, CommandHelp> = {
  up: {
    usage: ['up --customer C --env E [options]'],
    does: 'start the database, wait until available, restore the replica counts recorded before the last down, wait until deployments are available and health URLs answer',
  },
  down: {
    usage: ['down --customer C --env E [options]'],
    does: 'record the state, scale every deployment to 0, stop the database, wait until stopped',
  },
  status: {
    usage: ['status --customer C --env E [options]'],
    does: 'report deployments, database and application health, and a run in progress; read-only, never locked (alias: get_env_state; --record writes the legacy records)',
  },
  fleet: {
    usage: ['up|down|status --select SEL | --all [options]'],
    does: 'up, down or status with --select SEL or --all: every environment the selection names',
    note: 'Fleet exit codes: 0 every environment succeeded or was already in the asked state, 1 any failed, 2 some were refused, 64 bad selection (nothing ran)',
  },
  history: {
    usage: ['history --customer C --env E [options]'],
    does: 'the builds, newest first (read-only)',
  },
  hold: {
    usage: [
      'hold --select SEL --until TIME [options]',
      'hold --list [--select SEL]',
      'hold --clear --select SEL',
    ],
    does: 'skip scheduled runs of SEL until TIME (--skip-next down|up: only the next scheduled run of that action, then the hold ends; manual runs go ahead); list holds, active and expired; lift them',
  },
  guard: {
    usage: ['guard [--select SEL | --all] [--dry-run] [options]'],
    does: "run the seven-day guard's sweep over SEL (default: every environment) on the local engine: stop again each parked environment's database that AWS restarted, and record it (--dry-run: say per environment what it would do, change nothing)",
  },
  wake: {
    usage: [
      'wake --customer C --env E [--for 2h] [options]',
      'wake --customer C --env E --extend 1h | --end',
      'wake --sweep [--select SEL]',
    ],
    does: 'wake a sleeping environment on demand: an up that goes back to sleep when its time is up (default 2h, at most 12h); a second wake answers with the first; scheduled downs skip it meanwhile; --extend moves its end, --end puts it to sleep now, --sweep (cron) puts the expired ones to sleep',
  },
  serve: {
    usage: ['serve [--port N] [options]'],
    does: "serve the wake page of the configuration's wake.hosts on 127.0.0.1 (behind a proxy that keeps the Host): a person signed in with the configured OpenID Connect issuer sees the environment's state and ETA, presses Wake, and follows the run's steps to the application; API clients get 503 with Retry-After",
  },
  unlock: {
    usage: ['unlock --customer C --env E [options]'],
    does: 'remove the environment lock when the run holding it has died (a killed CI job); refused while that run is alive',
  },
  environments: { usage: ['environments [options]'], does: 'list the configured environments, resolved' },
  schema: { usage: ['schema'], does: "print the configuration's JSON Schema" },
  report: {
    usage: [
      'report [--select SEL | --all] [--days N] [--out DIR] [--prices FILE] [--serve [--port N]] [--backfill]',
    ],
    does: 'write the fleet report (index.html, report.json, savings.csv) from the run index of the last N days; read-only but for --backfill, which indexes older history once',
  },
  prices: {
    usage: ['prices refresh [--select SEL | --all] [--dry-run]'],
    does: "ask the AWS Price List API for the on-demand prices of the selection's recorded databases (class, engine, deployment, storage) and write them to each state bucket as report/prices.json, which the report prefers to the shipped table (--dry-run: print the table, write nothing)",
  },
  rbac: {
    usage: ['rbac [--cluster NAME]'],
    does: "print the Roles and RoleBindings that give the stack's Kubernetes groups access to the configured namespaces of one cluster (kubectl apply -f -)",
  },
};

const WIDTH = 100;

/** Words wrapped to the help's width, each line after the first indented by `indent`. */
function wrap(text: string, indent: number, first: number): string {
  const lines: string[] = [];
  let line = '';
  let room = WIDTH - first;
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = WIDTH - indent;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

const row = (left: string, right: string, col: number) =>
  `  ${left.padEnd(col - 2)}${left.length > col - 3 ? `\n${' '.repeat(col)}` : ''}${wrap(right, col, col)}`;

function optionRow(name: OptionName, withCommands: boolean): string {
  const o: OptionSpec = OPTIONS[name];
  const left = `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`;
  const commands =
    withCommands && o.commands !== 'all'
      ? ` [${o.commands.map((c) => (c === 'legacy' ? 'legacy mode' : c)).join(', ')}]`
      : '';
  return row(left, `${o.help}${commands}`, 30);
}

/** The usage lines of every command; up, down and status share theirs. */
function usageLines(keys: readonly Exclude<CommandKey, 'legacy'>[]): string[] {
  const lines = keys.flatMap((k) =>
    COMMAND_HELP[k].usage.map((u) => u.replace(/^(up|down|status) /, 'up|down|status ')),
  );
  return [...new Set(lines)].map((u) => `  cim ${u}`);
}

/** `cim --help`: every command and every option (with the commands that take it). */
export function usage(): string {
  const keys = Object.keys(COMMAND_HELP) as Exclude<CommandKey, 'legacy'>[];
  return [
    'Usage:',
    ...usageLines(keys),
    `  cim                 ${wrap(LEGACY_HELP, 22, 22)}`,
    '',
    'Commands:',
    ...keys.map((k) => row(k, COMMAND_HELP[k].does, 16)),
    '',
    'Options ([the commands that take it]; cim <command> --help: one command):',
    ...OPTION_NAMES.map((o) => optionRow(o, true)),
    '',
    exitCodeHelp(),
  ].join('\n');
}

/** `cim <command> --help`: its usage, what it does and its options; the fleet form with up, down and status. */
export function commandUsage(topic: string | undefined): string {
  const key = topic === 'get_env_state' ? 'status' : topic;
  if (!key || !(key in COMMAND_HELP)) return usage();
  const forms = (['up', 'down', 'status'].includes(key) ? [key, 'fleet'] : [key]) as Exclude<
    CommandKey,
    'legacy'
  >[];
  const parts = forms.flatMap((k) => {
    const h = COMMAND_HELP[k];
    return [
      ...h.usage.map((u, i) => `${i ? '       cim' : 'Usage: cim'} ${u}`),
      `  ${wrap(h.does, 2, 2)}`,
      '',
      'Options:',
      ...[...optionsOf(k), ...OPTION_NAMES.filter(isCommon)].map((o) => optionRow(o, false)),
      ...(h.note ? ['', wrap(h.note, 18, 0)] : []),
      '',
    ];
  });
  return [...parts, exitCodeHelp()].join('\n');
}
