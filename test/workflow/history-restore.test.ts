// History and restore of a chosen build: `up --restore-from-build N` (input field
// restoreFromBuild) on the local engine with the real handlers, and the history listing
// read back from the records those runs wrote (legacy records included).
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exitCodeFor } from '#cli/exit-codes';
import { resolveEnvironment } from '#core/config/catalog';
import { listHistory } from '#core/records/history';
import { Steps } from '#core/steps';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { fixtureJson, makeWorld, type World } from '../support/world.ts';

// The first run synthesizes the stack: outside the tests' 30 s, which a loaded machine can exceed.
beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

const replicas = (name: string) => w.kube.replicas('alpha-dev', name);
const summaryOf = (run: { output: unknown }) => run.output as Record<string, any>;
const snapshot = () => JSON.stringify([...w.bucket.objects].sort(([a], [b]) => a.localeCompare(b)));
const alpha = () => resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');

async function ok(input: Record<string, unknown>) {
  w.clock.advance(60);
  const run = await runWorkflow(w, input as never);
  expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
  return run;
}

/** down 10 at (1, 2); up 11; scaled to (3, 4) by hand; down 12; up 13; down 14. */
async function twoDownsThenDown() {
  await ok({ action: 'down', build: '10' });
  await ok({ action: 'up', build: '11' });
  await w.kube.scaleDeployment('alpha-dev', 'frontend-deployment', 3);
  await w.kube.scaleDeployment('alpha-dev', 'backend-deployment', 4);
  await ok({ action: 'down', build: '12' });
  await ok({ action: 'up', build: '13' });
  expect([replicas('frontend-deployment'), replicas('backend-deployment')]).toEqual([3, 4]);
  await ok({ action: 'down', build: '14' });
}

async function refused(input: Record<string, unknown>) {
  const before = snapshot();
  const scaled = w.kube.scaled.length;
  const rds = w.rdsCalls.length;
  const run = await runWorkflow(w, input as never);
  expect(run.status).toBe('FAILED');
  expect(snapshot()).toEqual(before);
  expect(w.kube.scaled.length).toBe(scaled);
  expect(w.rdsCalls.length).toBe(rds);
  return run;
}

describe('up --restore-from-build', () => {
  it('restores the counts of an older down, leaves the last down alone and records which build', async () => {
    await twoDownsThenDown();
    const run = await ok({ action: 'up', build: '15', restoreFromBuild: '10' });

    expect(run.path).toContain(Steps.restoreReplicas);
    expect([replicas('frontend-deployment'), replicas('backend-deployment')]).toEqual([1, 2]);
    expect(summaryOf(run).restorePoint).toMatchObject({ build: '10', key: `${P}/history/10/pre-state.json` });
    const latest = w.bucket.json(`${P}/actions.json`) as any;
    expect(latest).toMatchObject({
      desired_state: 'up',
      result: 'succeeded',
      restored_from_build: '10',
      last_change: { desired_state: 'up', jenkins_build: '15', result: 'succeeded' },
    });
    expect(w.bucket.json(`${P}/history/15/actions.json`)).toEqual(latest);
  });

  it('restores from a recorded status (get_env_state state record) taken while up', async () => {
    await ok({ action: 'get_env_state', build: '9', record: true });
    await ok({ action: 'down', build: '10' });
    await ok({ action: 'up', build: '11' });
    await w.kube.scaleDeployment('alpha-dev', 'backend-deployment', 6);
    await ok({ action: 'down', build: '12' });
    await ok({ action: 'up', build: '13', restoreFromBuild: '9' });
    expect([replicas('frontend-deployment'), replicas('backend-deployment')]).toEqual([1, 2]);
    expect((w.bucket.json(`${P}/actions.json`) as any).restored_from_build).toBe('9');
  });

  it('keeps the drift rule: a deployment changed while down is left as it is and reported', async () => {
    await twoDownsThenDown();
    await w.kube.scaleDeployment('alpha-dev', 'backend-deployment', 7);
    const run = await ok({ action: 'up', build: '15', restoreFromBuild: '10' });
    expect([replicas('frontend-deployment'), replicas('backend-deployment')]).toEqual([1, 7]);
    expect(summaryOf(run).skipped).toEqual([
      { deployment: 'backend-deployment', reason: 'changed while down (now 7, recorded 2); left as it is' },
    ]);
  });

  it('the dry run plans the chosen build counts and changes nothing', async () => {
    await twoDownsThenDown();
    const before = snapshot();
    const run = await ok({ action: 'up', build: '15', restoreFromBuild: '10', dryRun: true });
    expect((run.output as any).restoreFromBuild).toBe('10');
    expect((run.output as any).plan).toContainEqual(
      expect.objectContaining({ kind: 'scale', deployment: 'backend-deployment', to: 2, fromBuild: '10' }),
    );
    expect(snapshot()).toEqual(before);
  });

  it('refuses a build that does not exist (exit 2), nothing changed', async () => {
    await twoDownsThenDown();
    const run = await refused({ action: 'up', build: '15', restoreFromBuild: '99' });
    expect(run.error?.Error).toBe('ActionRefused');
    expect(exitCodeFor(run.error?.Error)).toBe(2);
    expect(run.error?.Cause).toMatch(/build 99 has no records under s3:\/\/.*history\/99\//);
    expect(run.error?.Cause).toContain('cim history --customer alpha --env dev');
  });

  it('refuses an up build: its pre-state is the environment while down (exit 2)', async () => {
    await twoDownsThenDown();
    const run = await refused({ action: 'up', build: '15', restoreFromBuild: '11' });
    expect(run.error?.Error).toBe('ActionRefused');
    expect(exitCodeFor(run.error?.Error)).toBe(2);
    expect(run.error?.Cause).toMatch(/build 11 was an up/);
  });

  it('refuses a status recorded while down: every count is 0 (exit 2)', async () => {
    await ok({ action: 'down', build: '10' });
    await ok({ action: 'get_env_state', build: '11', record: true });
    const run = await refused({ action: 'up', build: '12', restoreFromBuild: '11' });
    expect(run.error?.Error).toBe('StateRecordInvalid');
    expect(exitCodeFor(run.error?.Error)).toBe(2);
    expect(run.error?.Cause).toMatch(/every deployment at 0 replicas/);
  });

  it('validates the chosen pre-state like any restore point', async () => {
    await twoDownsThenDown();
    const pre = w.bucket.json(`${P}/history/10/pre-state.json`) as any;
    pre.k8s_deployments['backend-deployment'].deployment_replicas = 5000;
    w.bucket.put(`${P}/history/10/pre-state.json`, pre);
    const run = await refused({ action: 'up', build: '15', restoreFromBuild: '10' });
    expect(run.error?.Error).toBe('StateRecordInvalid');
    expect(run.error?.Cause).toMatch(/above maxReplicas 100/);
  });

  it('refuses a missing pre-state of a down build as RestorePointMissing', async () => {
    await twoDownsThenDown();
    w.bucket.objects.delete(`${P}/history/10/pre-state.json`);
    const run = await refused({ action: 'up', build: '15', restoreFromBuild: '10' });
    expect(run.error?.Error).toBe('RestorePointMissing');
  });

  it('keeps the existing rules: refused while the environment is up', async () => {
    await ok({ action: 'down', build: '10' });
    await ok({ action: 'up', build: '11' });
    const run = await refused({ action: 'up', build: '12', restoreFromBuild: '10' });
    expect(run.error?.Error).toBe('ActionRefused');
    expect(run.error?.Cause).toMatch(/already an up/);
  });

  it.each([
    [{ action: 'up', build: '15', restoreFromBuild: '../10' }, /restoreFromBuild must be 1-64 letters/],
    [{ action: 'up', build: '15', restoreFromBuild: 10 }, /restoreFromBuild must be a build id/],
    [{ action: 'up', build: '15', restoreFromBuild: '' }, /restoreFromBuild must be 1-64/],
    [{ action: 'down', build: '15', restoreFromBuild: '10' }, /restoreFromBuild is for up only/],
  ])('refuses the input %j as InvalidInput before anything (exit 64)', async (input, message) => {
    await twoDownsThenDown();
    const run = await refused(input);
    expect(run.error?.Error).toBe('InvalidInput');
    expect(exitCodeFor(run.error?.Error)).toBe(64);
    expect(run.error?.Cause).toMatch(message);
  });
});

describe('history', () => {
  it('lists the builds newest first with user, action, result and restored_from_build', async () => {
    await twoDownsThenDown();
    await ok({ action: 'up', build: '15', restoreFromBuild: '10', user: 'alice' });
    const { entries, total } = await listHistory(w.deps.store(alpha()), alpha());
    expect(total).toBe(6);
    expect(entries.map((x) => [x.build, x.action, x.result])).toEqual([
      ['15', 'up', 'succeeded'],
      ['14', 'down', 'succeeded'],
      ['13', 'up', 'succeeded'],
      ['12', 'down', 'succeeded'],
      ['11', 'up', 'succeeded'],
      ['10', 'down', 'succeeded'],
    ]);
    expect(entries[0]).toMatchObject({ user: 'alice', restoredFromBuild: '10', legacy: false });
    expect(entries[0]?.records).toEqual(['actions.json', 'post-state.json', 'pre-state.json']);
    const limited = await listHistory(w.deps.store(alpha()), alpha(), 2);
    expect(limited.entries.map((x) => x.build)).toEqual(['15', '14']);
    expect(limited.total).toBe(6);
  });

  it('includes legacy records, a run that never finished and an unreadable record, and writes nothing', async () => {
    w.bucket.put(`${P}/history/10/pre-state.json`, fixtureJson('legacy-pre-state-build-10.json'));
    w.bucket.put(`${P}/history/10/actions.json`, fixtureJson('legacy-actions-build-10.json'));
    w.bucket.put(`${P}/history/9/actions.json`, {
      ...fixtureJson('legacy-actions-build-10.json'),
      customer: 'beta',
    });
    w.bucket.put(`${P}/history/11/pre-state.json`, {
      ...fixtureJson('legacy-pre-state-build-10.json'),
      jenkins_build: '11',
      timestamp: '2025-10-22T08:00:00Z',
    });
    const before = snapshot();
    const { entries } = await listHistory(w.deps.store(alpha()), alpha());
    expect(entries.map((x) => [x.build, x.action, x.result, x.legacy])).toEqual([
      ['11', null, 'incomplete', false],
      ['10', 'down', 'succeeded', true],
      ['9', null, 'unreadable', false],
    ]);
    expect(entries[1]).toMatchObject({ timestamp: '2025-10-21T08:41:25Z', user: 'jenkins-user' });
    expect(entries[2]?.error?.message).toMatch(/record of beta\/dev/);
    expect(snapshot()).toEqual(before);
  });

  it('restore-from-build works on a legacy down record', async () => {
    w.bucket.put(`${P}/history/10/pre-state.json`, fixtureJson('legacy-pre-state-build-10.json'));
    w.bucket.put(`${P}/history/10/actions.json`, fixtureJson('legacy-actions-build-10.json'));
    w.bucket.put(`${P}/actions.json`, fixtureJson('legacy-actions-build-10.json'));
    await w.kube.scaleDeployment('alpha-dev', 'frontend-deployment', 0);
    await w.kube.scaleDeployment('alpha-dev', 'backend-deployment', 0);
    w.setDbState('stopped');
    await ok({ action: 'up', build: '11', restoreFromBuild: '10' });
    expect([replicas('frontend-deployment'), replicas('backend-deployment')]).toEqual([1, 2]);
    expect((w.bucket.json(`${P}/history/11/actions.json`) as any).restored_from_build).toBe('10');
  });
});
