// Issue 16's catalog at the command line: every option is honoured or refused (exit 64 naming
// the option and the command), legacy variables that disagree with the command line are
// refused, --dry-run writes nothing on the commands that write, and a hold over a selection
// is all or nothing. Each refusal asserts the exit code, the message and that S3 is untouched.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '#cli/exit-codes';
import { S3StateStore } from '#core/clients/s3-store';
import { capture } from '../../support/capture.ts';
import { makeWorld, type World } from '../../support/world.ts';

const CONFIG = ['--config', 'test/fixtures/environments.yaml'];
const P = 'eks-dev-cluster/alpha/dev';
const LOCK = `${P}/lock.json`;
const HOLD = `${P}/hold.json`;
const BETA_HOLD = 'eks-dev-cluster/beta/staging/hold.json';
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

const snapshot = () => Object.fromEntries([...w.bucket.objects].map(([k, o]) => [k, o.etag]));
const one = ['--customer', 'alpha', '--env', 'dev'];

const refusals: { title: string; argv: string[]; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
  {
    title: 'a restore build with a fleet selection',
    argv: ['up', '--select', '*/dev', '--restore-from-build', '10'],
    message:
      /--restore-from-build is not an option of cim up --select\/--all: a restore build belongs to one environment/,
  },
  {
    title: '--dry-run on history (which writes nothing to plan)',
    argv: ['history', ...one, '--dry-run'],
    message: /--dry-run is not an option of cim history; it takes --customer, --env, --limit/,
  },
  {
    title: '--user on history',
    argv: ['history', ...one, '--user', 'x'],
    message: /--user is not an option of cim history/,
  },
  {
    title: '--build on unlock',
    argv: ['unlock', ...one, '--build', '3'],
    message: /--build is not an option of cim unlock/,
  },
  {
    title: '--customer on schema',
    argv: ['schema', '--customer', 'alpha'],
    message: /--customer is not an option of cim schema/,
  },
  {
    title: '--max-concurrency on a single environment',
    argv: ['down', ...one, '--max-concurrency', '3'],
    message: /--max-concurrency is not an option of cim down;/,
  },
  {
    title: '--state-machine-arn on a fleet (which uses --fleet-state-machine-arn)',
    argv: [
      'down',
      '--select',
      '*/dev',
      '--remote',
      '--state-machine-arn',
      'arn:aws:states:us-east-1:1:stateMachine:x',
    ],
    message: /--state-machine-arn is not an option of cim down --select\/--all/,
  },
  {
    title: '--state-machine-arn without --remote',
    argv: ['up', ...one, '--state-machine-arn', 'arn:aws:states:us-east-1:1:stateMachine:x'],
    message: /--state-machine-arn is for --remote runs of cim up: add --remote or leave it out/,
  },
  {
    title: '--fleet-state-machine-arn without --remote',
    argv: ['down', '--all', '--fleet-state-machine-arn', 'arn:aws:states:us-east-1:1:stateMachine:x'],
    message: /--fleet-state-machine-arn is for --remote runs/,
  },
  {
    title: '--kubeconfig with --remote',
    argv: ['down', ...one, '--remote', '--kubeconfig', 'k.yaml'],
    message: /--kubeconfig is for local runs of cim down/,
  },
  {
    title: '--build on hold',
    argv: ['hold', '--select', 'alpha/dev', '--until', '+1h', '--build', '3'],
    message: /--build is not an option of cim hold/,
  },
  {
    title: '--max-concurrency 0x10 (hexadecimal)',
    argv: ['down', '--select', '*/dev', '--max-concurrency', '0x10'],
    message: /--max-concurrency must be an integer from 1 to 10000, got "0x10"/,
  },
  {
    title: '--max-concurrency 1e1 (exponent)',
    argv: ['down', '--select', '*/dev', '--max-concurrency', '1e1'],
    message: /got "1e1"/,
  },
  {
    title: '--max-concurrency " 4" (padded)',
    argv: ['down', '--select', '*/dev', '--max-concurrency', ' 4'],
    message: /got " 4"/,
  },
  {
    title: 'a legacy job given --customer as well',
    argv: ['--customer', 'alpha'],
    env: { ACTION: 'down', CUSTOMER: 'alpha', ENVIRONMENT: 'dev' },
    message: /--customer is not an option of cim \(legacy mode, ACTION=\.\.\.\)/,
  },
  {
    title: 'DRY_RUN=false with --dry-run in legacy mode',
    argv: ['--dry-run'],
    env: { ACTION: 'down', CUSTOMER: 'alpha', ENVIRONMENT: 'dev', DRY_RUN: 'false' },
    message: /DRY_RUN="false" and --dry-run disagree/,
  },
  {
    title: 'ACTION=up left in the environment of "cim down"',
    argv: ['down', ...one],
    env: { ACTION: 'up' },
    message: /ACTION="up" disagrees with the command "down"/,
  },
  {
    title: 'CUSTOMER=beta with --customer alpha',
    argv: ['down', ...one],
    env: { CUSTOMER: 'beta' },
    message: /CUSTOMER="beta" disagrees with --customer alpha/,
  },
  {
    title: 'ENVIRONMENT=prod with --env dev',
    argv: ['status', ...one],
    env: { ENVIRONMENT: 'prod' },
    message: /ENVIRONMENT="prod" disagrees with --env dev/,
  },
  {
    title: 'DRY_RUN=true with a "cim down" that would change the environment',
    argv: ['down', ...one],
    env: { DRY_RUN: 'true' },
    message:
      /DRY_RUN="true" disagrees with the command line \(no --dry-run\): cim down would change the environment/,
  },
  {
    title: 'a hold placed by a user with a right-to-left override',
    argv: ['hold', '--select', 'alpha/dev', '--until', '+1h', '--user', 'mallory\u202Eeci\u202C'],
    message: /user must be 1-128 characters and must not contain control characters.*U\+202E/,
  },
];

describe('every option is honoured or refused', () => {
  it.each(refusals)('refuses $title with exit 64, writing nothing', async ({ argv, env, message }) => {
    const io = capture();
    const before = snapshot();
    expect(await main([...argv, ...CONFIG], env ?? {})).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(message);
    expect(w.bucket.writes).toEqual([]);
    expect(snapshot()).toEqual(before);
  });

  it('accepts legacy variables that agree with the command line', async () => {
    capture();
    expect(await main(['history', ...one, ...CONFIG], { CUSTOMER: 'alpha', ENVIRONMENT: 'dev' })).toBe(0);
  });
});

describe('--dry-run writes nothing on the commands that write', () => {
  it('unlock --dry-run says it would clear a malformed lock ({}) and leaves it', async () => {
    const io = capture();
    w.bucket.put(LOCK, '{}');
    const before = snapshot();
    expect(await main(['unlock', ...one, '--dry-run', ...CONFIG], {})).toBe(0);
    expect(io.out()).toMatch(
      /dry run: would clear the lock of alpha\/dev: .*malformed \(it names no owner\).*Nothing was changed/,
    );
    expect(w.bucket.writes).toEqual([]);
    expect(snapshot()).toEqual(before);
  });

  it('unlock clears a malformed lock ({}) and says why', async () => {
    const io = capture();
    w.bucket.put(LOCK, '{}');
    expect(await main(['unlock', ...one, ...CONFIG], {})).toBe(0);
    expect(io.out()).toMatch(/cleared the lock of alpha\/dev: .*the lock record is malformed/);
    expect(w.bucket.objects.has(LOCK)).toBe(false);
  });

  it('hold --dry-run plans the hold on every selected environment and writes none', async () => {
    const io = capture();
    const before = snapshot();
    expect(
      await main(
        ['hold', '--select', 'alpha/dev,beta/staging', '--until', '+1h', '--dry-run', ...CONFIG],
        {},
      ),
    ).toBe(0);
    expect(io.out()).toMatch(
      /dry run: would place a hold on alpha\/dev until .*\ndry run: would place a hold on beta\/staging/,
    );
    expect(w.bucket.writes).toEqual([]);
    expect(snapshot()).toEqual(before);
  });

  it('hold --clear --dry-run names the hold it would clear and leaves it', async () => {
    const io = capture();
    expect(await main(['hold', '--select', 'alpha/dev', '--until', '+1h', ...CONFIG], {})).toBe(0);
    const before = snapshot();
    const writes = w.bucket.writes.length;
    expect(await main(['hold', '--clear', '--select', 'alpha/dev', '--dry-run', ...CONFIG], {})).toBe(0);
    expect(io.out()).toMatch(/dry run: alpha\/dev\twould clear the hold until/);
    expect(w.bucket.writes.length).toBe(writes);
    expect(snapshot()).toEqual(before);
  });
});

describe('a hold over a selection is all or nothing', () => {
  it('reads every environment first: one that cannot be read stops the command before any write', async () => {
    const io = capture();
    const real = S3StateStore.prototype.getJson;
    vi.spyOn(S3StateStore.prototype, 'getJson').mockImplementation(async function (this: S3StateStore, key) {
      if (key === BETA_HOLD) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
      return real.call(this, key);
    });
    const before = snapshot();
    const code = await main(['hold', '--select', 'alpha/dev,beta/staging', '--until', '+1h', ...CONFIG], {});
    expect(code).not.toBe(0);
    expect(io.err()).toMatch(/Access Denied/);
    expect(w.bucket.writes).toEqual([]);
    expect(snapshot()).toEqual(before);
  });

  it('undoes the holds it placed when a later environment refuses the write', async () => {
    const io = capture();
    const real = S3StateStore.prototype.putJson;
    vi.spyOn(S3StateStore.prototype, 'putJson').mockImplementation(async function (
      this: S3StateStore,
      key,
      v,
      c,
    ) {
      if (key === BETA_HOLD) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
      return real.call(this, key, v, c);
    });
    const code = await main(['hold', '--select', 'alpha/dev,beta/staging', '--until', '+1h', ...CONFIG], {});
    expect(code).not.toBe(0);
    expect(io.err()).toMatch(
      /at beta\/staging\); the 1 hold\(s\) placed before it were undone, so nothing changed/,
    );
    expect(w.bucket.objects.has(HOLD)).toBe(false);
    expect(w.bucket.objects.has(BETA_HOLD)).toBe(false);
  });

  it('restores the hold it replaced when a later environment refuses the write', async () => {
    capture();
    expect(
      await main(['hold', '--select', 'alpha/dev', '--until', '+2h', '--user', 'alice', ...CONFIG], {}),
    ).toBe(0);
    const real = S3StateStore.prototype.putJson;
    vi.spyOn(S3StateStore.prototype, 'putJson').mockImplementation(async function (
      this: S3StateStore,
      key,
      v,
      c,
    ) {
      if (key === BETA_HOLD) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
      return real.call(this, key, v, c);
    });
    expect(
      await main(
        ['hold', '--select', 'alpha/dev,beta/staging', '--until', '+1h', '--user', 'bob', ...CONFIG],
        {},
      ),
    ).not.toBe(0);
    expect(w.bucket.json(HOLD)).toMatchObject({ user: 'alice' });
  });
});
