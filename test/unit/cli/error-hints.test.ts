// Core error messages name no CLI flag; cim adds the flag that fixes the error, so that what
// it prints is what it printed before the messages moved out of core (cli/error-hints.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliMessage, FLAG_HINTS } from '#cli/error-hints';
import { ExitCode } from '#cli/exit-codes';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { loadConfigFile } from '#core/config/file';
import type { Config } from '#core/config/schema';
import { CimError, ErrorNames } from '#core/errors';
import { capture } from '../../support/capture.ts';

const FIXTURE = 'test/fixtures/environments.yaml';
let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
let dir: string;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
  dir = mkdtempSync(join(tmpdir(), 'cim-hints-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** A kubeconfig with one context `ctx` on cluster `c`, and (or not) it as the current context. */
function kubeconfig(name: string, current: boolean): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: ctx, context: { cluster: c, user: u } }]',
      ...(current ? ['current-context: ctx'] : []),
    ].join('\n'),
  );
  return file;
}

const thrown = (f: () => unknown): CimError => {
  try {
    f();
  } catch (err) {
    return err as CimError;
  }
  throw new Error('it did not throw');
};

describe('core errors a user fixes with a flag', () => {
  const config = loadConfigFile(FIXTURE) as Config;
  it.each([
    ['kubeconfig-file', () => kubeconfigKube(config, join(dir, 'missing-kubeconfig'))],
    ['kubeconfig-context', () => kubeconfigKube(config, kubeconfig('one.yaml', true), 'other')],
    ['kubeconfig-cluster', () => kubeconfigKube(config, kubeconfig('none.yaml', false))],
  ])('%s: say what is wrong without the flag, and carry what fixes it', (fix, f) => {
    const err = thrown(f);
    expect(err.name).toBe(ErrorNames.ConfigInvalid);
    expect(err.fix).toBe(fix);
    expect(err.message).not.toMatch(/--[a-z]/);
    expect(cliMessage(err)).toBe(`${err.message}${FLAG_HINTS[fix as keyof typeof FLAG_HINTS]}`);
    // A log line that serializes the error reads as before: the field is not enumerable.
    expect(JSON.stringify(err)).toBe(JSON.stringify({ name: ErrorNames.ConfigInvalid }));
  });

  it('a hold changed meanwhile: cim says to list the holds again', () => {
    const err = new CimError(ErrorNames.ConditionalWriteConflict, 'the hold of alpha/dev was changed', {
      fix: 'reread-hold',
    });
    expect(cliMessage(err)).toBe('the hold of alpha/dev was changed; run cim hold --list and try again');
    expect(cliMessage(new Error('plain'))).toBe('plain');
  });
});

describe('cim prints the hint as it always did', () => {
  it('for a kubeconfig without the context asked for, in the run’s JSON result too', async () => {
    const io = capture();
    const file = kubeconfig('json.yaml', true);
    const argv = ['down', '--customer', 'alpha', '--env', 'dev', '--config', FIXTURE];
    expect(await main([...argv, '--kubeconfig', file, '--context', 'nope', '--json'], {})).toBe(
      ExitCode.Usage,
    );
    expect(JSON.parse(io.out()).error).toEqual({
      name: 'ConfigInvalid',
      message: `kubeconfig ${file} has no context "nope" (it has: ctx). Fix --context or kubernetes.context.`,
    });
  });
});

describe('lambdas/core', () => {
  it('names CLI flags only in the messages still to move (see the issue 17 report)', () => {
    const flagged: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts'))
          readFileSync(p, 'utf8')
            .split('\n')
            .forEach((l) => {
              if (/(`|')[^`']*--[a-z][a-z-]+/.test(l) && !/^\s*(\/\/|\*)/.test(l)) flagged.push(p);
            });
      }
    };
    walk('lambdas/core');
    expect([...new Set(flagged)].sort()).toEqual([
      'lambdas/core/config/catalog.ts',
      'lambdas/core/config/file.ts',
      'lambdas/core/notify/notify.ts',
      'lambdas/core/records/history.ts',
      'lambdas/core/records/hold.ts',
      'lambdas/core/records/lock.ts',
      'lambdas/core/run/prepare.ts',
    ]);
  });
});
