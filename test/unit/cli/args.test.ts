// The command line's one option table: the parser accepts exactly what `cim --help` and
// `cim <command> --help` say, command by command, so that the help cannot drift again.
import { describe, expect, it } from 'vitest';
import { COMMAND_KEYS, type CommandKey, OPTION_NAMES, OPTIONS, optionsOf, parse } from '#cli/args';
import { commandUsage, usage } from '#cli/output/help';
import { MAX_DISTRIBUTED_MAP_CONCURRENCY } from '#core/aws-limits';
import { MAX_CONCURRENCY_LIMIT } from '#core/fleet/fleet';

const named = (text: string) => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1]));

/** A command line each command accepts as it is; the option under test is added to it. */
const BASE: Record<CommandKey, { argv: string[]; env?: NodeJS.ProcessEnv }> = {
  up: { argv: ['up', '--customer', 'a', '--env', 'b'] },
  down: { argv: ['down', '--customer', 'a', '--env', 'b'] },
  status: { argv: ['status', '--customer', 'a', '--env', 'b'] },
  fleet: { argv: ['down', '--select', 'a/*'] },
  history: { argv: ['history', '--customer', 'a', '--env', 'b'] },
  hold: { argv: ['hold', '--select', 'a/b'] },
  unlock: { argv: ['unlock', '--customer', 'a', '--env', 'b'] },
  environments: { argv: ['environments'] },
  schema: { argv: ['schema'] },
  rbac: { argv: ['rbac'] },
  // --serve: --port is refused without it.
  report: { argv: ['report', '--serve'] },
  prices: { argv: ['prices', 'refresh'] },
  guard: { argv: ['guard'] },
  wake: { argv: ['wake', '--customer', 'a', '--env', 'b'] },
  serve: { argv: ['serve'] },
  legacy: { argv: [], env: { ACTION: 'down', CUSTOMER: 'a', ENVIRONMENT: 'b' } },
};
const withValue = (o: string) =>
  OPTIONS[o as keyof typeof OPTIONS].kind === 'boolean'
    ? [`--${o}`]
    : [`--${o}`, o.includes('concurrency') || ['limit', 'days', 'port'].includes(o) ? '3' : 'x'];

/** What parse says of a command line: accepted, or the usage error's message. */
async function verdict(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    await parse(argv, env);
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('cim --help', () => {
  it('names every option the parser accepts, and no option it does not', () => {
    const help = usage();
    expect([...named(help)].sort()).toEqual([...OPTION_NAMES].sort());
  });

  it('starts with the runs of one environment and ends with the exit codes', () => {
    const help = usage();
    expect(help).toMatch(/^Usage:\n {2}cim up\|down\|status --customer C --env E \[options\]\n/);
    expect(help).toContain('  --fleet-state-machine-arn ARN\n');
    expect(help).toMatch(/Exit codes: 0 done, 1 failed[\s\S]*a signal after the result changes nothing$/);
  });

  it('gives the fleet limit the engine enforces', () => {
    expect(MAX_CONCURRENCY_LIMIT).toBe(MAX_DISTRIBUTED_MAP_CONCURRENCY);
    expect(usage()).toContain(`at most ${MAX_CONCURRENCY_LIMIT})`);
  });
});

describe('cim <command> --help', () => {
  it.each(COMMAND_KEYS.filter((k) => k !== 'legacy' && k !== 'fleet'))(
    '%s: lists exactly the options the parser lets it take',
    async (command) => {
      const forms = ['up', 'down', 'status'].includes(command) ? [command, 'fleet'] : [command];
      const common = OPTION_NAMES.filter((o) => OPTIONS[o].commands === 'all');
      const expected = new Set(forms.flatMap((k) => [...optionsOf(k as CommandKey), ...common]));
      const help = commandUsage(command);
      expect(help).toMatch(new RegExp(`^Usage: cim ${command}\\b`));
      // Option rows only: the descriptions may name other options (--remote, --select).
      const rows = help.split('\n').filter((l) => /^ {2}(-h, )?--/.test(l));
      expect(new Set(rows.map((l) => l.match(/--([a-z-]+)/)?.[1]))).toEqual(expected);
    },
  );

  it('of an unknown command, or none, is the whole help', () => {
    expect(commandUsage('frob')).toBe(usage());
    expect(commandUsage(undefined)).toBe(usage());
  });
});

describe('the parser', () => {
  const cases = COMMAND_KEYS.flatMap((k) =>
    OPTION_NAMES.filter((o) => OPTIONS[o].commands !== 'all').map((o) => [k, o] as const),
  );
  it.each(cases)('%s with --%s: accepted exactly when the table says so', async (command, option) => {
    const { argv, env } = BASE[command];
    const said = await verdict([...argv, ...withValue(option)], env);
    if ((optionsOf(command) as string[]).includes(option)) expect(said).not.toMatch(/is not an option of/);
    else expect(said).not.toBe('accepted');
  });

  it('accepts every base command line as it is', async () => {
    for (const { argv, env } of Object.values(BASE)) expect(await verdict(argv, env)).toBe('accepted');
  });

  it('lists a command’s options in the order it always did', async () => {
    expect(await verdict(['up', '--customer', 'a', '--env', 'b', '--cluster', 'x'])).toBe(
      '--cluster is not an option of cim up; it takes --customer, --env, --state-machine-arn, --restore-from-build, --build, --user, --dry-run, --remote, --kubeconfig, --context',
    );
    expect(await verdict(['--select', 'x'], BASE.legacy.env)).toBe(
      '--select is not an option of cim (legacy mode, ACTION=...); it takes --dry-run, --remote, --state-machine-arn, --kubeconfig, --context',
    );
    expect(await verdict(['schema', '--customer', 'a'])).toBe(
      '--customer is not an option of cim schema; it takes only --config and --json',
    );
  });
});
