// `cim wake` at the command line on the test world (the real run path on the local engine,
// S3 and RDS in memory): the wake's up and its record, a scheduled down skipped during it,
// --extend, --end, --sweep, one up for many concurrent wakes, a hold winning, and bad input
// refused with nothing written.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { ExitCode } from '#cli/exit-codes';
import { personLedgerKey } from '#core/records/wake-ledger';
import { capture } from '../../../support/capture.ts';
import { makeWorld, type World } from '../../../support/world.ts';

const fake = vi.hoisted(() => ({ kube: undefined as unknown }));
vi.mock('#core/clients/kubernetes', async (importOriginal) => ({
  ...(await importOriginal<typeof import('#core/clients/kubernetes')>()),
  kubeconfigKube: () => () => fake.kube,
}));

let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
let dir: string;
let config: string;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
  dir = mkdtempSync(join(tmpdir(), 'cim-wake-'));
  config = join(dir, 'environments.yaml');
  // The fixture's environment without health URLs: no HTTP in the unit tier.
  writeFileSync(
    config,
    toYaml({
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'frontend-deployment' }, { name: 'backend-deployment' }],
      },
      environments: { 'alpha/dev': {}, 'beta/staging': {} },
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let w: World;
beforeEach(() => {
  w = makeWorld();
  fake.kube = w.kube;
});
afterEach(() => {
  vi.restoreAllMocks();
  w.restore();
});

const P = 'eks-dev-cluster/alpha/dev';
const WAKE = `${P}/wake.json`;
const ENV = ['--customer', 'alpha', '--env', 'dev'];
const cim = (...argv: string[]) => main([...argv, '--config', config], {});
const starts = () => w.rdsCalls.filter((c) => c.startsWith('Start')).length;
const stops = () => w.rdsCalls.filter((c) => c.startsWith('Stop')).length;
/** The last action record, in the legacy job's keys. */
const last = () => {
  const r = w.bucket.json(`${P}/actions.json`) as Record<string, string>;
  return { action: r.desired_state, user: r.jenkins_user, build: r.jenkins_build, trigger: r.trigger };
};

/** alpha/dev put to sleep by an ordinary down, as every wake finds it. */
async function asleep() {
  const io = capture();
  const code = await cim('down', ...ENV, '--user', 'jenkins');
  expect(code, io.err()).toBe(0);
  vi.restoreAllMocks();
}

describe('cim wake', () => {
  it('runs an up as the wake and records who, when, until and the up’s build', async () => {
    await asleep();
    const io = capture();
    const t0 = Date.now();
    expect(await cim('wake', ...ENV, '--for', '90m', '--user', 'alice'), io.err()).toBe(0);
    expect(starts()).toBe(1);
    const wake = w.bucket.json(WAKE) as Record<string, string>;
    expect(wake).toMatchObject({ user: 'alice', source: 'cli' });
    expect(Date.parse(wake.until as string) - Date.parse(wake.created as string)).toBe(90 * 60_000);
    expect(Date.parse(wake.created as string)).toBeGreaterThanOrEqual(t0 - 1000);
    // The up is the wake's: its build, the wake's user and trigger in the action record.
    expect(last()).toEqual({ action: 'up', user: 'wake:alice', trigger: 'wake', build: wake.build });
    expect(io.out()).toMatch(/alpha\/dev is awake on demand until \d\d:\d\d UTC by alice/);
    // One path with the deployed wake: the run recorded the wake it carried (its own claim,
    // written once) and its requester, and passed its schedule Task.
    expect(w.bucket.json(`${P}/history/${wake.build}/actions.json`)).toMatchObject({
      requester: { user: 'alice', source: 'cli' },
    });
    expect(w.bucket.writes.filter((x) => x.op === 'put' && x.key === WAKE)).toHaveLength(1);
    expect(io.out()).toContain('Schedule wake down');
  });

  it('skips a scheduled down while awake, with who and until; a manual down goes ahead and ends it', async () => {
    await asleep();
    capture();
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(0);
    const until = (w.bucket.json(WAKE) as { until: string }).until;
    vi.restoreAllMocks();
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await cim('down', ...ENV, '--user', 'schedule:nightly')).toBe(ExitCode.Refused);
    expect(io.out() + io.err()).toContain(
      `skipped: awake on demand until ${until.slice(11, 16)} UTC by alice`,
    );
    expect(stops()).toBe(1);
    expect(w.bucket.writes.length).toBe(writes);

    expect(await cim('down', ...ENV, '--user', 'bob')).toBe(0);
    expect(stops()).toBe(2);
    // Ended by the down recorded after it: a second wake runs a new up.
    expect(await cim('wake', ...ENV, '--user', 'carol')).toBe(0);
    expect(starts()).toBe(2);
    expect(w.bucket.json(WAKE)).toMatchObject({ user: 'carol' });
  });

  it('answers a second wake while one is in effect with the first, with no second up', async () => {
    await asleep();
    capture();
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(0);
    const first = w.bucket.json(WAKE);
    vi.restoreAllMocks();
    const io = capture();
    expect(await cim('wake', ...ENV, '--user', 'bob', '--for', '3h')).toBe(0);
    expect(starts()).toBe(1);
    expect(w.bucket.json(WAKE)).toEqual(first);
    expect(io.out()).toMatch(/already awake on demand until .* by alice .*no second up/);
  });

  it('collapses 20 concurrent wakes into one up', async () => {
    await asleep();
    const io = capture();
    const codes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => cim('wake', ...ENV, '--user', `person-${i}`)),
    );
    expect(codes, io.err()).toEqual(Array(20).fill(0));
    expect(starts()).toBe(1);
    expect(w.bucket.writes.filter((x) => x.key === WAKE && x.op === 'put')).toHaveLength(1);
    expect(io.out().match(/no second up/g)).toHaveLength(19);
  });

  it('--extend moves until; --end runs the down as the wake’s end and clears it', async () => {
    await asleep();
    capture();
    expect(await cim('wake', ...ENV, '--for', '1h', '--user', 'alice')).toBe(0);
    const before = w.bucket.json(WAKE) as { until: string };
    expect(await cim('wake', ...ENV, '--extend', '30m', '--user', 'bob')).toBe(0);
    const after = w.bucket.json(WAKE) as { until: string; extended: string; user: string };
    expect(Date.parse(after.until) - Date.parse(before.until)).toBe(30 * 60_000);
    expect(after.user).toBe('alice');
    expect(after.extended).toBeDefined();

    expect(await cim('wake', ...ENV, '--end', '--user', 'bob')).toBe(0);
    expect(stops()).toBe(2);
    expect(last()).toMatchObject({ action: 'down', user: 'wake:bob', trigger: 'wake' });
    expect(w.bucket.json(WAKE)).toBeUndefined();
  });

  it('refuses an --extend past 12h from now with exit 64, saying how much is left, writing nothing', async () => {
    await asleep();
    const io = capture();
    expect(await cim('wake', ...ENV, '--for', '2h', '--user', 'alice')).toBe(0);
    const writes = w.bucket.writes.length;
    expect(await cim('wake', ...ENV, '--extend', '11h', '--user', 'alice')).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(/more than 12h from now; it can be extended by at most (599|600)m/);
    expect(w.bucket.writes.length).toBe(writes);
  });

  it('--sweep puts an expired wake to sleep, clears one already asleep, and keeps one in effect', async () => {
    await asleep();
    capture();
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(0);
    // Still in effect: the sweep leaves it.
    expect(await cim('wake', '--sweep')).toBe(0);
    expect(stops()).toBe(1);
    const expire = () => {
      const stored = w.bucket.json(WAKE) as Record<string, string>;
      const t = Date.now();
      w.bucket.put(WAKE, {
        ...stored,
        created: new Date(t - 3 * 3600_000).toISOString(),
        until: new Date(t - 3600_000).toISOString(),
      });
    };
    expire();
    expect(await cim('wake', '--sweep')).toBe(0);
    expect(stops()).toBe(2);
    expect(last()).toMatchObject({ action: 'down', user: 'wake:ttl:alice', trigger: 'wake' });
    expect(w.bucket.json(WAKE)).toBeUndefined();

    // Woken again, then put down by someone else: the expired wake is only cleared.
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(0);
    expect(await cim('down', ...ENV, '--user', 'bob')).toBe(0);
    expire();
    const stopsBefore = stops();
    expect(await cim('wake', '--sweep')).toBe(0);
    expect(stops()).toBe(stopsBefore);
    expect(w.bucket.json(WAKE)).toBeUndefined();
  });

  it('takes over an expired wake still up (the sweep not run yet) with no second up', async () => {
    await asleep();
    const io = capture();
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(0);
    const stored = w.bucket.json(WAKE) as Record<string, string>;
    const t = Date.now();
    w.bucket.put(WAKE, {
      ...stored,
      created: new Date(t - 3 * 3600_000).toISOString(),
      until: new Date(t - 60_000).toISOString(),
    });
    expect(await cim('wake', ...ENV, '--user', 'bob', '--for', '1h')).toBe(0);
    expect(starts()).toBe(1);
    const renewed = w.bucket.json(WAKE) as Record<string, string>;
    expect(renewed).toMatchObject({ user: 'bob', build: stored.build });
    expect(Date.parse(renewed.until as string)).toBeGreaterThan(t);
    expect(io.out()).toContain('still up from the wake by alice');
  });

  it('is refused, nothing written, while the environment is on hold', async () => {
    await asleep();
    const now = Date.now();
    w.bucket.put(`${P}/hold.json`, {
      user: 'dana',
      reason: 'database migration',
      created: new Date(now).toISOString(),
      until: new Date(now + 3600_000).toISOString(),
      skip_next: null,
    });
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(ExitCode.Refused);
    expect(io.err()).toMatch(/wake refused: alpha\/dev is on hold until .* by dana \(database migration\)/);
    expect(starts()).toBe(0);
    expect(w.bucket.writes.length).toBe(writes);
  });

  it('counts each wake in the environment’s and the person’s ledgers, once, and a collapsed wake not at all', async () => {
    await asleep();
    capture();
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(0);
    expect(await cim('wake', ...ENV, '--user', 'bob')).toBe(0);
    const build = (w.bucket.json(WAKE) as { build: string }).build;
    const env = w.bucket.json(`${P}/wake-ledger.json`) as { wakes: { user: string; build: string }[] };
    expect(env.wakes).toEqual([expect.objectContaining({ user: 'alice', environment: 'alpha/dev', build })]);
    expect(w.bucket.json(personLedgerKey('alice'))).toEqual(env);
    expect(w.bucket.json(personLedgerKey('bob'))).toBeUndefined();
  });

  it('is rate limited per environment: exit 2 saying how many and when, nothing written', async () => {
    await asleep();
    const t = Date.now();
    const at = (m: number) => new Date(t - m * 60_000).toISOString();
    w.bucket.put(`${P}/wake-ledger.json`, {
      wakes: [50, 40, 30, 20].map((m, i) => ({
        at: at(m),
        user: `person-${i}`,
        environment: 'alpha/dev',
        build: `20261206T19000${i}Z-aaaaaa`,
      })),
    });
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(ExitCode.Refused);
    const next = new Date(t + 10 * 60_000).toISOString().slice(11, 16);
    expect(io.err()).toContain(
      `wake refused: rate limited: 4 wakes of alpha/dev in the last hour; next allowed at ${next} UTC. Nothing was changed`,
    );
    expect(starts()).toBe(0);
    expect(w.bucket.writes.length).toBe(writes);
  });

  it('is rate limited per person across environments, and another person still wakes', async () => {
    await asleep();
    const t = Date.now();
    w.bucket.put(personLedgerKey('alice'), {
      wakes: Array.from({ length: 10 }, (_, i) => ({
        at: new Date(t - (55 - i) * 60_000).toISOString(),
        user: 'alice',
        environment: 'beta/staging',
        build: `20261206T1900${String(i).padStart(2, '0')}Z-aaaaaa`,
      })),
    });
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(ExitCode.Refused);
    expect(io.err()).toMatch(
      /rate limited: 10 wakes by alice in the last hour; next allowed at \d\d:\d\d UTC/,
    );
    expect(w.bucket.writes.length).toBe(writes);
    expect(await cim('wake', ...ENV, '--user', 'bob'), io.err()).toBe(0);
    expect(starts()).toBe(1);
  });

  it('shows in cim status while in effect, as text and as the summary’s wake key, and no more after --end', async () => {
    await asleep();
    capture();
    expect(await cim('wake', ...ENV, '--for', '90m', '--user', 'alice')).toBe(0);
    const stored = w.bucket.json(WAKE) as { until: string; build: string };
    vi.restoreAllMocks();
    let io = capture();
    expect(await cim('status', ...ENV), io.err()).toBe(0);
    expect(io.out()).toContain(
      `awake on demand until ${stored.until.slice(11, 16)} UTC by alice (build ${stored.build})`,
    );
    vi.restoreAllMocks();
    io = capture();
    expect(await cim('status', ...ENV, '--json')).toBe(0);
    const json = JSON.parse(io.out()) as { output: { wake?: { user: string; until: string } } };
    expect(json.output.wake).toMatchObject({ user: 'alice', until: stored.until });
    vi.restoreAllMocks();
    capture();
    expect(await cim('wake', ...ENV, '--end', '--user', 'alice')).toBe(0);
    vi.restoreAllMocks();
    io = capture();
    expect(await cim('status', ...ENV, '--json')).toBe(0);
    expect((JSON.parse(io.out()) as { output: { wake?: unknown } }).output.wake).toBeUndefined();
  });

  it('leaves status answering over a wake.json that is not a wake', async () => {
    await asleep();
    w.bucket.put(WAKE, { user: 'alice' });
    const io = capture();
    expect(await cim('status', ...ENV), io.err()).toBe(0);
    expect(io.out()).not.toContain('awake on demand');
  });

  it('is refused, nothing written, when the environment is already up, not by a wake', async () => {
    await asleep();
    capture();
    expect(await cim('up', ...ENV, '--user', 'jenkins')).toBe(0);
    vi.restoreAllMocks();
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await cim('wake', ...ENV, '--user', 'alice')).toBe(ExitCode.Refused);
    expect(io.err()).toMatch(/alpha\/dev is already up \(build .*\), not by a wake/);
    expect(starts()).toBe(1);
    expect(w.bucket.writes.length).toBe(writes);
  });

  it('wakes every environment of a selection, each with its own up and record', async () => {
    await asleep();
    const io = capture();
    expect(await cim('down', '--customer', 'beta', '--env', 'staging', '--user', 'jenkins')).toBe(0);
    expect(await cim('wake', '--select', 'alpha/dev,beta/staging', '--user', 'alice'), io.err()).toBe(0);
    // One database in this world: count the ups by their records.
    for (const prefix of [P, 'eks-dev-cluster/beta/staging'])
      expect(w.bucket.json(`${prefix}/actions.json`)).toMatchObject({
        desired_state: 'up',
        jenkins_user: 'wake:alice',
      });
    expect(w.bucket.json(WAKE)).toMatchObject({ user: 'alice' });
    expect(w.bucket.json('eks-dev-cluster/beta/staging/wake.json')).toMatchObject({ user: 'alice' });
  });

  it('refuses a wake over a wake.json that is not a wake, naming its key; the sweep goes on past it', async () => {
    await asleep();
    w.bucket.put(WAKE, { user: 'alice', until: 'soon' });
    const io = capture();
    expect(await cim('wake', ...ENV, '--user', 'bob')).toBe(ExitCode.Refused);
    expect(io.err()).toContain(
      's3://customer-infra-manager/eks-dev-cluster/alpha/dev/wake.json is not a wake',
    );
    expect(starts()).toBe(0);
    expect(await cim('wake', '--sweep')).toBe(ExitCode.Refused);
    expect(io.out()).toContain('alpha/dev\twake record unreadable');
  });

  it.each([
    [['wake', ...ENV, '--for', '0']],
    [['wake', ...ENV, '--for', '99h']],
    [['wake', ...ENV, '--for', 'abc']],
    [['wake', ...ENV, '--for', '13h']],
    [['wake', ...ENV, '--extend', '1h']],
    [['wake', ...ENV, '--end']],
    [['wake', ...ENV, '--end', '--extend', '1h']],
    [['wake', '--for', '1h']],
  ])('refuses %j with exit 64, writing nothing', async (argv) => {
    await asleep();
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await cim(...argv)).toBe(ExitCode.Usage);
    expect(io.err()).not.toBe('');
    expect(w.bucket.writes.length).toBe(writes);
    expect(starts()).toBe(0);
  });
});
