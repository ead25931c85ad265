// `cim history` and `cim up --restore-from-build` at the command line: the table and the
// JSON read back from the test world's bucket, usage errors (exit 64) before any request,
// and a refused chosen build (exit 2) with nothing changed.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '#cli/exit-codes';
import { capture } from '../../../support/capture.ts';
import { makeWorld, type World } from '../../../support/world.ts';

const fake = vi.hoisted(() => ({ kube: undefined as unknown }));
vi.mock('#core/clients/kubernetes', async (importOriginal) => ({
  ...(await importOriginal<typeof import('#core/clients/kubernetes')>()),
  kubeconfigKube: () => () => fake.kube,
}));

const P = 'eks-dev-cluster/alpha/dev';
const CONFIG = ['--config', 'test/fixtures/environments.yaml'];
let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
});

let w: World;
beforeEach(() => {
  w = makeWorld();
  fake.kube = w.kube;
});
afterEach(() => {
  vi.restoreAllMocks();
  w.restore();
});

const record = (build: string, action: string, extra: Record<string, unknown> = {}) => ({
  timestamp: `2026-11-${10 + Number(build)}T20:00:00Z`,
  jenkins_build: build,
  jenkins_user: 'jenkins',
  customer: 'alpha',
  environment: 'dev',
  desired_state: action,
  ...extra,
});

describe('cim history', () => {
  beforeEach(() => {
    w.bucket.put(`${P}/history/1/actions.json`, record('1', 'down'));
    w.bucket.put(`${P}/history/2/actions.json`, record('2', 'up', { result: 'succeeded' }));
    w.bucket.put(
      `${P}/history/3/actions.json`,
      record('3', 'up', {
        result: 'failed',
        restored_from_build: '1',
        error: { name: 'WaitTimedOut', message: 'database not available', step: 'Check database' },
      }),
    );
  });

  it('prints the builds newest first, legacy records marked, and writes nothing', async () => {
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await main(['history', '--customer', 'alpha', '--env', 'dev', ...CONFIG], {})).toBe(0);
    const lines = io.out().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^BUILD\s+TIME \(UTC\)\s+USER\s+ACTION\s+RESULT\s+NOTES$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5))).toEqual([
      ['3', '2026-11-13T20:00:00Z', 'jenkins', 'up', 'failed'],
      ['2', '2026-11-12T20:00:00Z', 'jenkins', 'up', 'succeeded'],
      ['1', '2026-11-11T20:00:00Z', 'jenkins', 'down', 'succeeded'],
    ]);
    expect(lines[1]).toContain(
      'restored from build 1 · WaitTimedOut in Check database: database not available',
    );
    expect(lines[3]).toContain('legacy record');
    expect(w.bucket.writes.length).toBe(writes);
  });

  it('--limit and --json give the newest N as JSON with the total', async () => {
    const io = capture();
    expect(
      await main(['history', '--customer', 'alpha', '--env', 'dev', '--limit', '2', '--json', ...CONFIG], {}),
    ).toBe(0);
    const out = JSON.parse(io.out());
    expect(out.environment).toBe('alpha/dev');
    expect(out.total).toBe(3);
    expect(out.entries.map((e: { build: string }) => e.build)).toEqual(['3', '2']);
    expect(out.entries[0]).toMatchObject({ action: 'up', result: 'failed', restoredFromBuild: '1' });
  });

  it('notes who asked for a wake’s up and from where, from its action record', async () => {
    w.bucket.put(
      `${P}/history/4/actions.json`,
      record('4', 'up', {
        jenkins_user: 'wake:alice@example.com',
        result: 'succeeded',
        requester: {
          user: 'alice@example.com',
          subject: 'sub-123',
          address: '203.0.113.9',
          user_agent: 'Mozilla/5.0',
          source: 'http',
        },
      }),
    );
    // A requester that does not check (a control character) reads as absent, the row as before.
    w.bucket.put(
      `${P}/history/5/actions.json`,
      record('5', 'up', { result: 'failed', requester: { user: 'mallory\u001b[2J', source: 'http' } }),
    );
    const io = capture();
    expect(await main(['history', '--customer', 'alpha', '--env', 'dev', ...CONFIG], {})).toBe(0);
    const lines = io.out().trimEnd().split('\n');
    expect(lines[2]).toMatch(/^4\s/);
    expect(lines[2]).toContain(
      'requested from the wake page by alice@example.com (subject sub-123) at 203.0.113.9 (Mozilla/5.0)',
    );
    expect(lines[1]).toMatch(/^5\s/);
    expect(lines[1]).not.toContain('requested');
    const json = capture();
    expect(await main(['history', '--customer', 'alpha', '--env', 'dev', '--json', ...CONFIG], {})).toBe(0);
    const entries = JSON.parse(json.out()).entries as { build: string; requester?: unknown }[];
    expect(entries.find((e) => e.build === '4')?.requester).toEqual({
      user: 'alice@example.com',
      subject: 'sub-123',
      address: '203.0.113.9',
      userAgent: 'Mozilla/5.0',
      source: 'http',
    });
  });

  it('says so when there is no history', async () => {
    const io = capture();
    expect(await main(['history', '--customer', 'beta', '--env', 'staging', ...CONFIG], {})).toBe(0);
    expect(io.out()).toBe('no history recorded\n');
  });
});

describe('bad command lines (exit 64, nothing read or written)', () => {
  it.each([
    [['history', '--customer', 'alpha'], /history needs --customer and --env/],
    [
      ['history', '--customer', 'alpha', '--env', 'dev', '--limit', '0'],
      /--limit "0" must be a whole number/,
    ],
    [['history', '--customer', 'alpha', '--env', 'dev', '--limit', 'ten'], /--limit "ten"/],
    [['history', '--customer', 'zeta', '--env', 'dev'], /environment "zeta\/dev" not found/],
    [['status', '--customer', 'alpha', '--env', 'dev', '--limit', '3'], /--limit is for history only/],
    [['down', '--customer', 'alpha', '--env', 'dev', '--restore-from-build', '1'], /for up only/],
    [
      ['up', '--customer', 'alpha', '--env', 'dev', '--restore-from-build', '../1'],
      /restoreFromBuild must be 1-64 letters/,
    ],
  ])('refuses %j', async (argv, message) => {
    const io = capture();
    expect(await main([...(argv as string[]), ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(message);
    expect(w.bucket.writes).toEqual([]);
    expect(w.rdsCalls).toEqual([]);
  });
});

describe('cim up --restore-from-build', () => {
  it('refuses an up build with exit 2 and changes nothing', async () => {
    w.bucket.put(`${P}/history/1/actions.json`, record('1', 'down'));
    w.bucket.put(`${P}/history/2/actions.json`, record('2', 'up'));
    w.bucket.put(`${P}/actions.json`, record('3', 'down'));
    const io = capture();
    const code = await main(
      ['up', '--customer', 'alpha', '--env', 'dev', '--build', '4', '--restore-from-build', '2', ...CONFIG],
      {},
    );
    expect(code).toBe(ExitCode.Refused);
    expect(io.out()).toMatch(
      /refused: Prepare: up --restore-from-build 2 is refused for alpha\/dev: build 2 was an up/,
    );
    expect(w.bucket.writes).toEqual([]);
    expect(w.kube.scaled).toEqual([]);
  });
});
