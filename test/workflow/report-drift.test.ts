// The report's drift from the records real runs write (issue 18): an up that found workloads
// changed while down, the seven-day guard finding the parked database started again, a
// recorded status seeing it available; a corrupted record is an exclusion, no drift no row.
// Runs and the guard go through the local engine with the real handlers; only the bad
// records are written by hand.
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runGuardLocal } from '#cli/engine/local-guard';
import { resolveEnvironment } from '#core/config/catalog';
import { buildReport } from '#core/report/build';
import { renderReportPage } from '#core/report/page';
import { reportPrices } from '#core/report/prices';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

async function run(action: string, build: string, extra: Record<string, unknown> = {}) {
  const r = await runWorkflow(w, { action, build, ...extra });
  expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
}

const guard = () =>
  runGuardLocal({
    deps: w.deps,
    input: { customer: 'alpha', environment: 'dev' },
    beforeStep: (i) => w.clock.advance((i as { waitSeconds?: number }).waitSeconds ?? 0),
  });

async function report() {
  w.clock.advance(3600);
  const env = resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');
  const gets = w.bucket.mock.commandCalls(GetObjectCommand).length;
  const lists = w.bucket.mock.commandCalls(ListObjectsV2Command).length;
  const after = <T>(calls: { args: [{ input: T }] }[], from: number) =>
    calls.slice(from).map((c) => c.args[0].input);
  const model = await buildReport({
    environments: [{ env, store: w.deps.store(env) }],
    days: 7,
    now: w.clock.now(),
    prices: reportPrices(),
  });
  return {
    model,
    gets: after(w.bucket.mock.commandCalls(GetObjectCommand), gets).map((i) => i.Key as string),
    lists: after(w.bucket.mock.commandCalls(ListObjectsV2Command), lists).map((i) => i.Prefix as string),
  };
}

describe('drift in the report', () => {
  it('names the workloads the last up found changed while down, links its record, and counts the environment as drifted', async () => {
    await run('down', '10');
    w.clock.advance(8 * 3600);
    await w.kube.scaleDeployment('alpha-dev', 'backend-deployment', 5);
    await run('up', '11');
    const { model } = await report();
    expect(model.drift).toEqual([
      {
        customer: 'alpha',
        environment: 'dev',
        kind: 'workloads-changed-while-down',
        detail: expect.stringMatching(
          /^up build 11 found 1 workload\(s\) changed .*backend-deployment: changed while down \(now 5, recorded 2\)/,
        ),
        since: expect.any(String),
        recordKey: `${P}/history/11/actions.json`,
      },
    ]);
    expect(model.fleet.counts).toMatchObject({ awake: 1, drifted: 1 });
    expect(model.exclusions).toEqual([]);
    const html = renderReportPage(model);
    expect(html).toContain('workloads changed while down');
    expect(html).toContain(`${P}/history/11/actions.json`);
  });

  it('reads the up record from its history when a recorded status came after it (one GET more)', async () => {
    await run('down', '10');
    await w.kube.scaleDeployment('alpha-dev', 'frontend-deployment', 4);
    await run('up', '11');
    w.clock.advance(600);
    await run('get_env_state', '12', { record: true });
    const { model } = await report();
    expect(model.drift.map((d) => [d.kind, d.recordKey])).toEqual([
      ['workloads-changed-while-down', `${P}/history/11/actions.json`],
    ]);
    expect(model.drift[0]?.detail).toContain('frontend-deployment: changed while down (now 4, recorded 1)');
  });

  it('shows the guard stopping the restarted database again as drift put right, not as drifted now', async () => {
    await run('down', '10');
    w.clock.advance(7 * 86_400);
    w.scriptDb(['available', 'stopping', 'stopped']);
    expect((await guard()).status).toBe('SUCCEEDED');
    const { model, gets, lists } = await report();
    const [key] = w.bucket.keys().filter((k) => k.endsWith('/keep-stopped.json'));
    expect(model.drift).toEqual([
      expect.objectContaining({
        kind: 'database-available-while-asleep',
        detail: expect.stringContaining(
          "database 'alpha-dev-rds' was available while the environment was down",
        ),
        recordKey: key,
        resolvedAt: expect.any(String),
      }),
    ]);
    expect(model.fleet.counts).toMatchObject({ asleep: 1, drifted: 0 });
    // Drift's own reads: one LIST of the guard's re-stops (never the whole history) and one
    // GET of the newest; everything else is what readEnvironment reads anyway.
    expect(lists.filter((p) => p.includes('/history/'))).toEqual([`${P}/history/guard-20261`]);
    const mine = gets.filter(
      (k) => !/\/index\/|\/(actions|lock|hold)\.json$|\/history\/10\/pre-state\.json$/.test(k),
    );
    expect(mine).toEqual([key]);
  });

  it('keeps the guard re-stop as put right when a later recorded status found the database stopped', async () => {
    await run('down', '10');
    w.clock.advance(7 * 86_400);
    w.scriptDb(['available', 'stopping', 'stopped']);
    expect((await guard()).status).toBe('SUCCEEDED');
    w.clock.advance(3600);
    await run('get_env_state', '12', { record: true });
    const { model } = await report();
    expect(model.drift).toEqual([
      expect.objectContaining({
        kind: 'database-available-while-asleep',
        detail: expect.stringMatching(
          /acted 1 time\(s\); a later recorded status \(build 12\) found it stopped$/,
        ),
        resolvedAt: expect.any(String),
      }),
    ]);
    expect(model.fleet.counts.drifted).toBe(0);
    expect(renderReportPage(model)).toContain('put right');
  });

  it('counts the database the guard could not stop as drifted now', async () => {
    await run('down', '10');
    w.scriptDb(['available', 'incompatible-parameters']);
    expect((await guard()).status).toBe('FAILED');
    const { model } = await report();
    expect(model.drift).toEqual([
      expect.objectContaining({
        kind: 'database-available-while-asleep',
        detail: expect.stringMatching(/could not stop it: DatabaseErrorState/),
      }),
    ]);
    expect(model.drift[0]?.resolvedAt).toBeUndefined();
    expect(model.fleet.counts).toMatchObject({ asleep: 1, drifted: 1 });
  });

  it('shows a recorded status that found the parked database available', async () => {
    await run('down', '10');
    w.clock.advance(3600);
    w.setDbState('available');
    await run('get_env_state', '12', { record: true });
    const { model } = await report();
    expect(model.drift).toEqual([
      expect.objectContaining({
        kind: 'database-available-while-asleep',
        detail: expect.stringContaining(
          "a recorded status (build 12) found database 'alpha-dev-rds' available",
        ),
        recordKey: `${P}/history/12/pre-state.json`,
      }),
    ]);
    expect(model.fleet.counts).toMatchObject({ asleep: 1, drifted: 1 });
  });

  it('shows no drift after a down and an up that found nothing changed, or a status that saw it stopped', async () => {
    await run('down', '10');
    await run('get_env_state', '11', { record: true });
    let { model } = await report();
    expect(model.drift).toEqual([]);
    await run('up', '12');
    ({ model } = await report());
    expect(model.drift).toEqual([]);
    expect(model.fleet.counts.drifted).toBe(0);
    expect(model.exclusions).toEqual([]);
  });

  it('turns a corrupted guard record and a truncated up record into exclusions with their keys', async () => {
    await run('down', '10');
    const bad = `${P}/history/guard-${w.clock.now().toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-abcdef/keep-stopped.json`;
    w.bucket.put(bad, { desired_state: 'keep_stopped', result: 'maybe' });
    let { model } = await report();
    expect(model.drift).toEqual([]);
    expect(model.exclusions).toEqual([{ key: bad, reason: expect.stringContaining('result') }]);

    await run('up', '11');
    await run('get_env_state', '12', { record: true });
    w.bucket.put(`${P}/history/11/actions.json`, '{"timestamp":"2026-');
    ({ model } = await report());
    expect(model.drift).toEqual([]);
    expect(model.exclusions).toEqual([{ key: `${P}/history/11/actions.json`, reason: expect.any(String) }]);
  });
});
