// The one table from every way a run ends to its exit code (cli/exit-codes.ts): the table in
// docs/operations.md is generated from it, each row is reached from the facts of a run, and `--json` and
// the fleet's per-environment codes agree with it. The runs here are in-process (`main` on the
// in-memory test world, signals emitted on the process); the same rows on the real peers,
// with real signals: test/integration/exit-codes-real-peers.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import {
  classifyRun,
  ExitCode,
  exitCodeFor,
  exitCodeTableMarkdown,
  outcomeFields,
  RUN_OUTCOMES,
  type RunFacts,
  type RunOutcome,
} from '#cli/exit-codes';
import { ErrorNames } from '#core/errors';
import { classifyChild } from '#core/fleet/fleet';
import { capture } from '../../support/capture.ts';
import { makeWorld, type World } from '../../support/world.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('the exit-code table', () => {
  it('is the "Exit codes" table of docs/operations.md, row for row', () => {
    const page = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
    const heading = '## Exit codes\n\n';
    expect(page).toContain(heading);
    const section = page.slice(page.indexOf(heading) + heading.length);
    // Cell for cell: Biome pads the tables in Markdown, the generator does not.
    const cells = (table: string) =>
      table
        .trim()
        .split('\n')
        .filter((line) => !/^\|[\s|-]+\|$/.test(line))
        .map((line) =>
          line
            .split(/(?<!\\)\|/)
            .slice(1, -1)
            .map((c) => c.trim()),
        );
    expect(cells(section.slice(0, section.indexOf('\n\n')))).toEqual(cells(exitCodeTableMarkdown()));
  });

  it('gives every outcome a code, and the codes that mean different things are different', () => {
    const byCode = new Map<number, string[]>();
    for (const row of Object.values(RUN_OUTCOMES))
      byCode.set(row.code, [...(byCode.get(row.code) ?? []), row.result]);
    // One result word per code: a CI job needs only the code.
    for (const [code, words] of byCode) expect(new Set(words).size, `code ${code}`).toBe(1);
    expect(RUN_OUTCOMES['interrupted-not-recorded'].code).not.toBe(RUN_OUTCOMES.interrupted.code);
    expect(RUN_OUTCOMES['lock-lost-before-change'].code).toBe(ExitCode.Refused);
  });

  const lost: RunFacts['summary'] = { recorded: 'nothing-changed', lock: 'absent' };
  it.each<[string, RunFacts, RunOutcome]>([
    ['a run that succeeded', { summary: { lock: 'released' }, local: true }, 'succeeded'],
    ['a dry run', { summary: { lock: 'none' }, local: true, dryRun: true }, 'planned'],
    [
      'a run whose lock could not be released',
      { summary: { lock: 'release-failed' }, local: true },
      'succeeded-lock-left',
    ],
    [
      'a recorded failure',
      { errorName: 'WaitTimedOut', summary: { recorded: true, lock: 'released' }, local: true },
      'failed',
    ],
    [
      'a failure before the first change',
      {
        errorName: 'TransientAwsError',
        summary: { recorded: 'nothing-changed', lock: 'released' },
        local: true,
      },
      'failed-before-change',
    ],
    ['a refusal', { errorName: 'ActionRefused', summary: null, local: true }, 'refused'],
    [
      'a lost lock before any change',
      { errorName: ErrorNames.LockLost, summary: lost, local: true },
      'lock-lost-before-change',
    ],
    [
      'a lost lock after a change',
      { errorName: ErrorNames.LockLost, summary: { recorded: true, lock: 'not-ours' }, local: true },
      'failed',
    ],
    [
      'a failure S3 would not take',
      { errorName: 'WaitTimedOut', summary: { recorded: false, lock: 'release-failed' }, local: true },
      'failed-not-recorded',
    ],
    [
      'a recorded failure whose lock stayed',
      { errorName: 'WaitTimedOut', summary: { recorded: true, lock: 'release-failed' }, local: true },
      'failed-not-recorded',
    ],
    [
      'a local run that died with no summary',
      { errorName: 'States.Timeout', summary: null, local: true },
      'failed-not-recorded',
    ],
    [
      'a remote failure (its summary is in the execution history)',
      { errorName: 'States.Timeout', summary: null, local: false },
      'failed',
    ],
    ['bad input', { errorName: 'InvalidInput', summary: null, local: true }, 'invalid'],
    ['a failed preflight', { errorName: 'PreflightFailed', summary: null, local: true }, 'invalid'],
    [
      'an interruption, recorded',
      { errorName: 'Interrupted', summary: { recorded: true, lock: 'released' }, local: true },
      'interrupted',
    ],
    [
      'an interruption before the first change',
      { errorName: 'Interrupted', summary: { recorded: 'nothing-changed', lock: 'released' }, local: true },
      'interrupted',
    ],
    [
      'an interruption S3 would not take',
      { errorName: 'Interrupted', summary: { recorded: false, lock: 'release-failed' }, local: true },
      'interrupted-not-recorded',
    ],
    [
      'an interruption whose lock stayed',
      { errorName: 'Interrupted', summary: { recorded: true, lock: 'release-failed' }, local: true },
      'interrupted-not-recorded',
    ],
  ])('classifies %s', (_, facts, outcome) => {
    expect(classifyRun(facts)).toBe(outcome);
    const fields = outcomeFields(outcome, facts);
    const row = RUN_OUTCOMES[outcome];
    expect(fields).toMatchObject({ outcome, exitCode: row.code, result: row.result });
    // The fields say what the facts say, and never contradict the row.
    if (row.recorded !== null) expect(fields.recorded).toBe(row.recorded);
    if (row.lockReleased !== null) expect(fields.lockReleased).toBe(row.lockReleased);
    if (facts.summary?.recorded === false) expect(fields.recorded).toBe(false);
    if (facts.summary?.lock === 'release-failed') expect(fields.lockReleased).toBe(false);
  });

  it('names the exact unlock command where the lock may be left', () => {
    const c = { action: 'down', where: 'alpha/dev', unlock: 'cim unlock --customer alpha --env dev' };
    for (const o of ['interrupted-not-recorded', 'failed-not-recorded', 'succeeded-lock-left'] as const)
      expect(RUN_OUTCOMES[o].message(c)).toContain('`cim unlock --customer alpha --env dev`');
  });

  it.each(Object.values(ErrorNames))(
    'gives %s the same code for one environment of a fleet as for a run of its own',
    (name) => {
      const child = classifyChild({
        customer: 'alpha',
        environment: 'dev',
        error: { Error: 'States.TaskFailed', Cause: JSON.stringify({ Error: name, Cause: 'x' }) },
      });
      expect(child.exitCode).toBe(
        RUN_OUTCOMES[classifyRun({ errorName: name, summary: null, local: false })].code,
      );
      expect(child.exitCode).toBe(exitCodeFor(name));
    },
  );
});

// ------------------------------------------------------------ in-process runs on the test world

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
  dir = mkdtempSync(join(tmpdir(), 'cim-exit-codes-'));
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
      environments: { 'alpha/dev': {} },
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
const LOCK = `${P}/lock.json`;

async function down(build: string) {
  const io = capture();
  const code = await main(
    ['down', '--customer', 'alpha', '--env', 'dev', '--build', build, '--json', '--config', config],
    {},
  );
  vi.restoreAllMocks();
  return { code, json: JSON.parse(io.out()), err: io.err() };
}

describe('cim down --json on the test world', () => {
  it('succeeded: exit 0, recorded, lock released', async () => {
    const r = await down('1');
    expect(r.code, r.err).toBe(0);
    expect(r.json).toMatchObject({
      outcome: 'succeeded',
      result: 'succeeded',
      exitCode: 0,
      recorded: true,
      lockReleased: true,
    });
    expect(w.bucket.keys()).not.toContain(LOCK);
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ result: 'succeeded', jenkins_build: '1' });
  });

  it('refused (down after down): exit 2, nothing written', async () => {
    await down('1');
    const before = w.bucket.writes.length;
    const r = await down('2');
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({
      outcome: 'refused',
      exitCode: 2,
      recorded: true,
      lockReleased: true,
      error: { name: 'ActionRefused' },
    });
    expect(w.bucket.writes.length).toBe(before);
  });

  it('another run takes the lock before any change: exit 2 (not 1), nothing recorded', async () => {
    let taken = false;
    w.bucket.hooks.afterWrite = (op, key) => {
      // The moment Prepare has the lock, another run (the same build started twice) takes it over.
      if (op === 'put' && key === LOCK && !taken) {
        taken = true;
        w.bucket.put(LOCK, {
          owner: 'local:elsewhere:1:1:abc',
          build: '1',
          action: 'down',
          expires_at: '2999-01-01T00:00:00Z',
        });
      }
    };
    const r = await down('1');
    expect(r.code, r.err).toBe(ExitCode.Refused);
    expect(r.json).toMatchObject({
      outcome: 'lock-lost-before-change',
      result: 'refused',
      recorded: true,
      lockReleased: true,
      error: { name: 'LockLost' },
      output: { recorded: 'nothing-changed', lock: 'not-ours' },
    });
    expect(w.bucket.keys().filter((k) => k.includes('/history/'))).toEqual([]);
    expect(w.bucket.keys()).not.toContain(`${P}/actions.json`);
    expect(w.kube.scaled).toEqual([]);
  });

  it('two SIGTERMs right after the intent record: exit 130, recorded as interrupted, lock released', async () => {
    w.bucket.hooks.afterWrite = (op, key) => {
      if (op === 'put' && key === `${P}/actions.json` && w.bucket.json(key)?.result === 'running') {
        delete w.bucket.hooks.afterWrite;
        process.emit('SIGTERM', 'SIGTERM');
        process.emit('SIGTERM', 'SIGTERM');
      }
    };
    const r = await down('1');
    expect(r.code, r.err).toBe(ExitCode.Interrupted);
    expect(r.err).toMatch(/SIGTERM again: still stopping at the next safe point and recording/);
    expect(r.json).toMatchObject({
      outcome: 'interrupted',
      result: 'interrupted',
      exitCode: 130,
      recorded: true,
      lockReleased: true,
    });
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ result: 'interrupted', jenkins_build: '1' });
    expect(w.bucket.json(`${P}/history/1/actions.json`)).toMatchObject({ result: 'interrupted' });
    expect(w.bucket.keys()).not.toContain(LOCK);
    expect(w.kube.scaled).toEqual([]);
  });

  it('SIGTERM, then S3 goes away before the interruption is recorded: exit 4 with the unlock command', async () => {
    w.bucket.hooks.afterWrite = (op, key) => {
      if (op === 'put' && key === `${P}/actions.json` && w.bucket.json(key)?.result === 'running') {
        delete w.bucket.hooks.afterWrite;
        process.emit('SIGTERM', 'SIGTERM');
        w.bucket.hooks.beforeCall = () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
            name: 'Error',
            code: 'ECONNREFUSED',
          });
        };
      }
    };
    const io = capture();
    const code = await main(
      ['down', '--customer', 'alpha', '--env', 'dev', '--build', '1', '--config', config],
      {},
    );
    vi.restoreAllMocks();
    delete w.bucket.hooks.beforeCall;
    expect(code, io.err()).toBe(ExitCode.InterruptedNotRecorded);
    expect(io.out()).toContain('interrupted and NOT recorded');
    expect(io.out()).toContain('`cim unlock --customer alpha --env dev`');
    // What the operator will find: the intent says running and the lock is there.
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ result: 'running' });
    expect(w.bucket.keys()).toContain(LOCK);
  });
});

describe('a local fleet’s per-environment results', () => {
  it('come from the same table: a lost lock before any change is refused (2) with recorded and lockReleased', async () => {
    const fleetConfig = join(dir, 'fleet.yaml');
    writeFileSync(
      fleetConfig,
      toYaml({
        defaults: {
          cluster: 'eks-dev-cluster',
          region: 'us-east-1',
          bucket: 'customer-infra-manager',
          deployments: [{ name: 'web' }],
        },
        environments: { 'f1/dev': {}, 'f2/dev': {} },
      }),
    );
    w.restore();
    w = makeWorld({ perDatabase: true });
    for (const ns of ['f1-dev', 'f2-dev']) w.kube.add(ns, 'web', 3);
    fake.kube = w.kube;
    const f2Lock = 'eks-dev-cluster/f2/dev/lock.json';
    let taken = false;
    w.bucket.hooks.afterWrite = (op, key) => {
      if (op === 'put' && key === f2Lock && !taken) {
        taken = true;
        w.bucket.put(f2Lock, {
          owner: 'local:elsewhere:1:x',
          build: 'x',
          action: 'down',
          expires_at: '2999-01-01T00:00:00Z',
        });
      }
    };
    const io = capture();
    const code = await main(
      [
        'down',
        '--select',
        'f1/dev,f2/dev',
        '--build',
        '5',
        '--json',
        '--config',
        fleetConfig,
        '--user',
        'ci',
      ],
      {},
    );
    vi.restoreAllMocks();
    const out = JSON.parse(io.out());
    expect(code, io.err()).toBe(ExitCode.Refused);
    const byEnv = Object.fromEntries(
      out.summary.environments.map((e: { environment: string }) => [e.environment, e]),
    );
    expect(byEnv['f1/dev']).toMatchObject({
      result: 'succeeded',
      exitCode: 0,
      outcome: 'succeeded',
      recorded: true,
      lockReleased: true,
    });
    expect(byEnv['f2/dev']).toMatchObject({
      result: 'refused',
      exitCode: 2,
      outcome: 'lock-lost-before-change',
      recorded: true,
      lockReleased: true,
      error: { name: 'LockLost' },
    });
    expect(w.kube.replicas('f2-dev', 'web')).toBe(3);
  });
});
