// `cim hold` at the command line: the hold object it writes (conditional write, user,
// reason, created, until), --list and --clear, and bad input refused with nothing written.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '#cli/exit-codes';
import { capture } from '../../../support/capture.ts';
import { makeWorld, type World } from '../../../support/world.ts';

const CONFIG = ['--config', 'test/fixtures/environments.yaml'];
const HOLD = 'eks-dev-cluster/alpha/dev/hold.json';
let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
});

let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => {
  vi.restoreAllMocks();
  w.restore();
});

const cim = (...argv: string[]) => main([...argv, ...CONFIG], {});

describe('cim hold', () => {
  it('places a hold with who, why, when and until; lists it; clears it', async () => {
    const io = capture();
    const t0 = Date.now();
    expect(
      await cim(
        'hold',
        '--select',
        'alpha/dev',
        '--until',
        '+4h',
        '--reason',
        'demo in Tokyo',
        '--user',
        'alice',
      ),
    ).toBe(0);
    const h = w.bucket.json(HOLD) as any;
    expect(h).toMatchObject({ user: 'alice', reason: 'demo in Tokyo', skip_next: null });
    expect(Date.parse(h.until) - Date.parse(h.created)).toBe(4 * 3600_000);
    expect(Date.parse(h.created)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(io.out()).toContain('Scheduled up and down runs of this environment are skipped until');

    expect(await cim('hold', '--list', '--json')).toBe(0);
    const listed = JSON.parse(io.out().slice(io.out().indexOf('[')));
    expect(listed).toEqual([
      { environment: 'alpha/dev', active: true, hold: expect.objectContaining({ user: 'alice' }) },
    ]);

    expect(await cim('hold', '--clear', '--select', 'alpha/dev')).toBe(0);
    expect(w.bucket.json(HOLD)).toBeUndefined();
    expect(io.out()).toContain('alpha/dev\thold cleared (was until');
  });

  it('replaces an existing hold over the one it read, and says so', async () => {
    const io = capture();
    expect(await cim('hold', '--select', 'alpha/dev', '--until', '+1h', '--user', 'alice')).toBe(0);
    expect(
      await cim('hold', '--select', 'alpha/dev', '--until', '+2h', '--skip-next', 'down', '--user', 'bob'),
    ).toBe(0);
    expect(w.bucket.json(HOLD)).toMatchObject({ user: 'bob', skip_next: 'down', ends_after_skip: true });
    expect(io.out()).toMatch(/replaced a hold until .* by alice/);
    expect(io.out()).toMatch(
      /The next scheduled down of this environment is skipped, then the hold ends \(at the latest at .*\); manual runs go ahead\./,
    );
    const puts = w.bucket.writes.filter((x) => x.key === HOLD);
    expect(puts).toHaveLength(2);
  });

  it('lists a --skip-next hold as skipping the next scheduled down, and a consumed one with its build', async () => {
    const io = capture();
    expect(
      await cim('hold', '--select', 'alpha/dev', '--until', '+2d', '--skip-next', 'down', '--user', 'bob'),
    ).toBe(0);
    expect(await cim('hold', '--list')).toBe(0);
    expect(io.out()).toMatch(
      /alpha\/dev\tactive\tuntil .*\tby bob\t.*\tskips the next scheduled down, then ends\n/,
    );
    const placed = w.bucket.json(HOLD) as { until: string };
    w.bucket.put(HOLD, {
      ...placed,
      until: '2026-11-26T19:00:00.000Z',
      consumed: {
        build: 'weeknights-down-20261126T1900Z',
        execution_id: 'x',
        at: '2026-11-26T19:00:00.000Z',
        until_before: placed.until,
      },
    });
    expect(await cim('hold', '--list')).toBe(0);
    expect(io.out()).toContain(`alpha/dev\tended\tuntil ${placed.until}\tby bob`);
    expect(io.out()).toContain(
      'consumed by build weeknights-down-20261126T1900Z at 2026-11-26T19:00:00.000Z (skipped that scheduled down), ended',
    );
  });

  it('--dry-run says what a --skip-next hold would do and writes nothing; a bad --skip-next is refused there too', async () => {
    const io = capture();
    expect(
      await cim('hold', '--select', 'alpha/dev', '--until', '+1h', '--skip-next', 'down', '--dry-run'),
    ).toBe(0);
    expect(io.out()).toMatch(
      /dry run: would place a hold on alpha\/dev until .* \(skips the next scheduled down, then ends\)\nNothing was changed\.\n/,
    );
    expect(
      await cim('hold', '--select', 'alpha/dev', '--until', '+1h', '--skip-next', 'sideways', '--dry-run'),
    ).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(/must be down or up/);
    expect(w.bucket.writes).toEqual([]);
  });

  it('holds every environment of a selection, each with the same until, and names them all', async () => {
    const io = capture();
    expect(await cim('hold', '--select', 'alpha/dev,beta/staging', '--until', '+1d', '--user', 'carol')).toBe(
      0,
    );
    const alpha = w.bucket.json(HOLD) as { until: string; created: string };
    const beta = w.bucket.json('eks-dev-cluster/beta/staging/hold.json') as { until: string };
    expect(alpha).toMatchObject({ user: 'carol', reason: null, skip_next: null });
    expect(beta).toMatchObject({ user: 'carol', reason: null, skip_next: null, until: alpha.until });
    expect(Date.parse(alpha.until) - Date.parse(alpha.created)).toBe(24 * 3600_000);
    // Only the two selected environments are held (gamma/dev is configured too).
    expect(w.bucket.writes.map((x) => x.key).sort()).toEqual([
      HOLD,
      'eks-dev-cluster/beta/staging/hold.json',
    ]);
    expect(io.out()).toMatch(/^alpha\/dev\t.*\nbeta\/staging\t.*\n/);
    expect(io.out()).toContain(
      `Scheduled up and down runs of these 2 environments are skipped until ${alpha.until}; manual runs go ahead.\n`,
    );
  });

  it.each([
    [['hold', '--select', 'alpha/dev', '--until', '2020-01-01T00:00:00Z'], /is not in the future/],
    [['hold', '--select', 'alpha/dev', '--until', 'tonight'], /"tonight" is not a time/],
    [['hold', '--select', 'alpha/dev', '--until', '2026-13-45T25:00:00Z'], /is not a time/],
    [['hold', '--select', 'alpha/dev', '--until', '2099-01-01T00:00:00'], /is not a time/],
    [['hold', '--select', 'alpha/dev', '--until', '+60d'], /more than 31 days ahead/],
    [['hold', '--select', 'zeta/dev', '--until', '+1h'], /environment "zeta\/dev" not found/],
    [['hold', '--select', 'alpha/dev', '--until', '+1h', '--skip-next', 'sideways'], /must be down or up/],
    [
      ['hold', '--select', 'alpha/dev', '--until', '+1h', '--reason', 'x'.repeat(201)],
      /reason must be 1-200/,
    ],
    [['hold', '--select', 'alpha/dev'], /hold needs --until/],
    [['hold', '--until', '+1h'], /needs --select/],
    [['hold', '--list', '--clear'], /--list or --clear, not both/],
    [['hold', '--clear', '--select', 'alpha/dev', '--until', '+1h'], /takes no --until/],
    [['down', '--customer', 'alpha', '--env', 'dev', '--until', '+1h'], /--until is for hold only/],
  ])('refuses %j with exit 64 and writes nothing', async (argv, message) => {
    const io = capture();
    expect(await cim(...(argv as string[]))).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(message);
    expect(w.bucket.writes).toEqual([]);
  });
});

describe('cim status', () => {
  it('shows an active hold', async () => {
    const { makePrinter, printStatus } = await import('#cli/output/printer');
    const out: string[] = [];
    const p = makePrinter(false, (s) => out.push(s));
    printStatus(p, {
      preState: null,
      inProgress: null,
      hold: {
        user: 'alice',
        reason: 'demo in Tokyo',
        created: '2026-11-26T18:00:00.000Z',
        until: '2026-11-26T22:00:00.000Z',
        skipNext: null,
      },
    } as never);
    expect(out.join('')).toContain(
      'on hold until 2026-11-26T22:00:00.000Z by alice (demo in Tokyo): scheduled up and down runs are skipped, manual runs go ahead',
    );
  });
});
