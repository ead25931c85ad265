// The seven-day guard on the local engine with the real handlers: a database that AWS
// restarted after a down is waited for, stopped again and recorded under a new build,
// last_change untouched so the next up restores the down's counts; an environment that is
// up, on hold, or an event for a database that is not configured: nothing done or recorded.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runGuardLocal } from '#cli/engine/local-guard';
import { resolveEnvironment } from '#core/config/catalog';
import { listHistory } from '#core/records/history';
import { placeHold } from '#core/records/hold';
import { GuardSteps } from '#core/steps';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

// The first run synthesizes the stack: outside the tests' 30 s, which a loaded machine can exceed.
beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

const rdsEvent = (id: string, eventId = 'RDS-EVENT-0154', type = 'DB_INSTANCE') => ({
  version: '0',
  source: 'aws.rds',
  'detail-type': type === 'CLUSTER' ? 'RDS DB Cluster Event' : 'RDS DB Instance Event',
  region: 'us-east-1',
  detail: {
    EventID: eventId,
    SourceIdentifier: id,
    SourceType: type,
    Message: 'DB instance is being started',
  },
});
// The environments' objects; the guard's own item lists and map run results live under guard/.
const snapshot = () =>
  JSON.stringify(
    [...w.bucket.objects].filter(([k]) => !k.startsWith('guard/')).sort(([a], [b]) => a.localeCompare(b)),
  );
const guard = (input: unknown) =>
  runGuardLocal({
    deps: w.deps,
    input,
    beforeStep: (i) => w.clock.advance((i as { waitSeconds?: number }).waitSeconds ?? 0),
  });
const guardRecords = () => w.bucket.keys().filter((k) => k.endsWith('/keep-stopped.json'));

async function parked() {
  const down = await runWorkflow(w, { action: 'down', build: '10' });
  expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
  w.rdsCalls.length = 0;
}

describe('the seven-day guard', () => {
  it('waits while the restarted database starts, stops it, records it, and the next up restores the down', async () => {
    await parked();
    const latestBefore = w.bucket.objects.get(`${P}/actions.json`)?.body;
    // AWS restarted it: starting, starting, available; then our stop: stopping, stopped.
    w.scriptDb(['starting', 'starting', 'starting', 'available', 'stopping', 'stopped']);
    const run = await guard(rdsEvent('alpha-dev-rds'));
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.path).toEqual([GuardSteps.select, GuardSteps.each, GuardSteps.summary]);
    expect(run.itemPath.filter((s) => s === GuardSteps.wait).length).toBeGreaterThanOrEqual(3);
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
    expect(run.summary).toMatchObject({
      trigger: 'RDS-EVENT-0154 DB_INSTANCE alpha-dev-rds',
      restopped: 1,
      failed: 0,
    });
    const [key] = guardRecords();
    expect(key).toMatch(new RegExp(`^${P}/history/guard-[0-9TZ]+-[0-9a-f]{6}/keep-stopped.json$`));
    expect(w.bucket.json(key as string)).toMatchObject({
      desired_state: 'keep_stopped',
      result: 'succeeded',
      jenkins_user: 'guard:RDS-EVENT-0154',
      kept_down_since_build: '10',
      aws_rds: {
        rds_identifier: 'alpha-dev-rds',
        state_before: 'starting',
        state_after: 'stopped',
        stop_issued: true,
      },
    });
    expect(w.bucket.objects.get(`${P}/actions.json`)?.body).toBe(latestBefore);
    expect(w.bucket.keys()).not.toContain(`${P}/lock.json`);

    const env = resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');
    const { entries } = await listHistory(w.deps.store(env), env);
    expect(entries.map((e) => [e.action, e.result])).toEqual([
      ['keep_stopped', 'succeeded'],
      ['down', 'succeeded'],
    ]);

    w.setDbState('stopped');
    const up = await runWorkflow(w, { action: 'up', build: '11' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect((up.output as any).restorePoint.build).toBe('10');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it('does nothing and records nothing when the environment is up', async () => {
    const before = snapshot();
    const run = await guard(rdsEvent('alpha-dev-rds', 'RDS-EVENT-0088'));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary?.environments).toEqual([
      { environment: 'alpha/dev', phase: 'noop', why: 'not parked: the last change is none' },
    ]);
    expect(w.rdsCalls).toEqual([]);
    expect(snapshot()).toEqual(before);
  });

  it('leaves a database alone while a hold is active', async () => {
    await parked();
    const env = resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');
    const now = w.clock.now();
    await placeHold(w.deps.store(env), env, {
      user: 'alice',
      reason: 'demo',
      created: now.toISOString(),
      until: new Date(now.getTime() + 3600_000).toISOString(),
      skipNext: null,
    });
    w.setDbState('available');
    const run = await guard(rdsEvent('alpha-dev-rds'));
    expect(run.summary?.environments[0]).toMatchObject({
      phase: 'noop',
      why: expect.stringContaining('on hold until'),
    });
    expect(w.rdsCalls).toEqual([]);
    expect(guardRecords()).toEqual([]);
  });

  it('still re-stops a database while a hold holds back only scheduled ups (it keeps the environment asleep)', async () => {
    await parked();
    const env = resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');
    const now = w.clock.now();
    await placeHold(w.deps.store(env), env, {
      user: 'alice',
      reason: 'stay down over the weekend',
      created: now.toISOString(),
      until: new Date(now.getTime() + 3600_000).toISOString(),
      skipNext: 'up',
    });
    w.scriptDb(['available', 'stopping', 'stopped']);
    const run = await guard(rdsEvent('alpha-dev-rds'));
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.summary).toMatchObject({ restopped: 1, failed: 0 });
    expect(run.summary?.environments[0]).toMatchObject({ environment: 'alpha/dev', phase: 'done' });
    expect(guardRecords()).toHaveLength(1);
  });

  it('the daily sweep re-stops every parked environment whose database is not stopped, and only those', async () => {
    await parked();
    const beta = await runWorkflow(w, {
      action: 'down',
      customer: 'beta',
      environment: 'staging',
      build: '20',
    });
    expect(beta.status).toBe('SUCCEEDED');
    w.rdsCalls.length = 0;
    // One shared scripted state in this world: the sweep meets "available" for every database.
    w.setDbState('available');
    const run = await guard({ sweep: true });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const by = Object.fromEntries((run.summary?.environments ?? []).map((e) => [e.environment, e.phase]));
    expect(by).toEqual({ 'alpha/dev': 'done', 'beta/staging': 'done', 'gamma/dev': 'noop' });
    expect(w.rdsCalls.sort()).toEqual(['StopDBCluster', 'StopDBInstance']);
    expect(guardRecords()).toHaveLength(2);
  });

  it('a sweep of named environments (cim guard --select) looks at those only, and says who started it', async () => {
    await parked();
    w.setDbState('available');
    const run = await guard({ sweep: true, environments: ['gamma/dev', 'alpha/dev'], by: 'carol' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.summary?.trigger).toBe('sweep by carol (cim guard)');
    const by = Object.fromEntries((run.summary?.environments ?? []).map((e) => [e.environment, e.phase]));
    expect(by).toEqual({ 'alpha/dev': 'done', 'gamma/dev': 'noop' });
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
  });

  it('refuses a sweep that names an environment not configured, nothing done', async () => {
    await parked();
    w.setDbState('available');
    const before = snapshot();
    const run = await guard({ sweep: true, environments: ['alpha/dev', 'zeta/dev'] });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Cause).toMatch(/zeta\/dev is not configured/);
    expect(w.rdsCalls).toEqual([]);
    expect(snapshot()).toEqual(before);
  });

  it('ignores a forged event for a database that is not configured: nothing done, nothing recorded', async () => {
    await parked();
    w.setDbState('available');
    const before = snapshot();
    for (const e of [
      rdsEvent('someone-elses-db'),
      rdsEvent('alpha-dev-rds', 'RDS-EVENT-0153', 'CLUSTER'),
      rdsEvent('alpha-dev-rds', 'RDS-EVENT-0006'),
    ]) {
      const run = await guard(e);
      expect(run.status).toBe('SUCCEEDED');
      expect(run.summary?.environments).toEqual([]);
      expect(run.summary?.ignored).toBeTruthy();
    }
    expect(w.rdsCalls).toEqual([]);
    expect(snapshot()).toEqual(before);
  });

  it('refuses input that is neither an RDS event nor a guard request', async () => {
    const run = await guard({ hello: 'world' });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Cause).toMatch(/invalid guard request/);
  });

  it('a database in an error state fails the guard, recorded as failed, lock released', async () => {
    await parked();
    w.scriptDb(['available', 'incompatible-parameters']);
    const run = await guard(rdsEvent('alpha-dev-rds'));
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('GuardHadFailures');
    expect(run.error?.Cause).toMatch(/DatabaseErrorState/);
    const [key] = guardRecords();
    expect(w.bucket.json(key as string)).toMatchObject({
      result: 'failed',
      error: { name: 'DatabaseErrorState' },
    });
    expect(w.bucket.keys()).not.toContain(`${P}/lock.json`);
  });
});
