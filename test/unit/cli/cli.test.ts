// The CLI's contract with CI jobs: usage and configuration errors exit 64 before anything
// runs, exit codes map from error names, legacy variables are read like main.py did.
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExitCode, exitCodeFor } from '#cli/exit-codes';
import { capture } from '../../support/capture.ts';

let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
});
afterEach(() => vi.restoreAllMocks());

describe('cim', () => {
  it('lists its commands with --help', async () => {
    const io = capture();
    expect(await main(['--help'], {})).toBe(0);
    expect(io.out()).toMatch(/cim up\|down\|status/);
    expect(io.out()).toContain('Exit codes: 0 done, 1 failed');
  });

  it.each([
    [['frob'], /unknown command "frob"/],
    [['down', '--customer', 'alpha'], /needs --customer and --env/],
    [['down', '--customer', 'alpha', '--env', 'dev', '--bogus'], /Unknown option '--bogus'/],
    [['down', '--customer', 'alpha', '--env', 'dev', '--build', '../10'], /build must be/],
    [['down', '--customer', 'alpha', '--env', 'dev', '--user', ' '], /user must not be empty/],
    [
      ['down', '--customer', 'zeta', '--env', 'dev'],
      /environment "zeta\/dev" not found in environments\.yaml \(did you mean alpha\/dev, beta\/staging\?\)/,
    ],
    [
      ['down', '--customer', 'alpha', '--env', 'dev', '--config', 'no-such.yaml'],
      /cannot read configuration file no-such\.yaml/,
    ],
  ])('refuses %j with exit 64 and says why', async (argv, message) => {
    const io = capture();
    expect(await main(argv as string[], {})).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(message);
  });

  it('in legacy mode needs ACTION, CUSTOMER and ENVIRONMENT', async () => {
    const io = capture();
    expect(await main([], {})).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(/ACTION is not set/);
    expect(await main([], { ACTION: 'down', CUSTOMER: 'alpha' })).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(/needs ENVIRONMENT/);
    expect(await main([], { ACTION: 'reboot', CUSTOMER: 'alpha', ENVIRONMENT: 'dev' })).toBe(ExitCode.Usage);
  });

  it('prints one JSON result with --json', async () => {
    const io = capture();
    expect(await main(['status', '--customer', 'nobody', '--env', 'dev', '--json'], {})).toBe(ExitCode.Usage);
    expect(JSON.parse(io.out())).toMatchObject({
      result: 'invalid',
      exitCode: 64,
      error: { name: 'UnknownEnvironment' },
    });
  });

  it('prints the configuration JSON Schema, the one committed for editors', async () => {
    const io = capture();
    expect(await main(['schema'], {})).toBe(0);
    const committed = readFileSync(
      new URL('../../../schemas/environments.schema.json', import.meta.url),
      'utf8',
    );
    // The schema `npm run schema` writes for editors: the two agree (the file is formatted by Biome).
    expect(JSON.parse(io.out())).toEqual(JSON.parse(committed));
    expect(io.out()).toMatch(/^\{\n {2}"\$schema": /);
    expect(JSON.parse(io.out()).required).toContain('environments');
    expect(io.err()).toBe('');
  });
});

describe('exit codes', () => {
  it.each([
    [undefined, 0],
    ['ActionRefused', 2],
    ['EnvironmentLocked', 2],
    ['BuildAlreadyRecorded', 2],
    ['StateRecordInvalid', 2],
    ['InvalidInput', 64],
    ['UnknownEnvironment', 64],
    ['ConfigInvalid', 64],
    ['DatabaseErrorState', 1],
    ['WaitTimedOut', 1],
    ['States.Timeout', 1],
  ])('%s -> %i', (name, code) => {
    expect(exitCodeFor(name)).toBe(code);
  });
});
