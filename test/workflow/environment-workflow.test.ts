import { DescribeDBInstancesCommand, RDSServiceException, StartDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUN_REQUESTS } from '#core/fleet/capacity';
import { caughtState, Steps } from '#core/steps';
import { runWorkflow } from '../support/run-workflow.ts';
import { fixtureJson, makeWorld, type World } from '../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

const replicas = (ns: string, name: string) => w.kube.replicas(ns, name);
const summaryOf = (run: { output: unknown }) => run.output as Record<string, any>;

async function down(build = '10') {
  const run = await runWorkflow(w, { action: 'down', build });
  expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
  return run;
}

describe('down', () => {
  it('scales every deployment to 0, stops the database and writes the legacy records', async () => {
    const run = await down('10');

    expect(run.path).toEqual([
      Steps.inputIsObject,
      Steps.prepare,
      Steps.dryRun,
      Steps.recordIntent,
      Steps.whichAction,
      Steps.suspendCronJobs,
      Steps.pauseScaledObjects,
      Steps.scaleDown,
      Steps.checkDeploymentsStopped,
      Steps.deploymentsStopped,
      Steps.scaleStatefulSetsDown,
      Steps.checkStatefulSetsStopped,
      Steps.statefulSetsStopped,
      Steps.stopDatabase,
      Steps.databaseStopEvents,
      Steps.checkDatabaseStopped,
      Steps.databaseStopped,
      Steps.recordResult,
      Steps.done,
    ]);
    expect(replicas('alpha-dev', 'frontend-deployment')).toBe(0);
    expect(replicas('alpha-dev', 'backend-deployment')).toBe(0);
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
    expect(w.dbState()).toBe('stopped');
    expect(w.bucket.keys()).toEqual([
      `${P}/actions.json`,
      `${P}/history/10/actions.json`,
      `${P}/history/10/post-state.json`,
      `${P}/history/10/pre-state.json`,
      // The report's index row (issue 18): one per run, under the day it started.
      `${P}/index/2026-11-26/10-down.json`,
    ]);
    const pre = w.bucket.json(`${P}/history/10/pre-state.json`) as any;
    expect(pre.k8s_deployments['frontend-deployment']).toMatchObject({
      deployment_replicas: 1,
      deployment_available: true,
      app_status: 'up',
    });
    expect(pre.k8s_deployments['backend-deployment'].deployment_replicas).toBe(2);
    // The legacy keys first, in their order; then what the bill depends on (issue 18).
    expect(pre.aws_rds).toEqual({
      message: "RDS instance 'alpha-dev-rds' is in state 'available'.",
      rds_identifier: 'alpha-dev-rds',
      rds_exists: true,
      rds_state: 'available',
      rds_engine: 'postgres',
      rds_instance_class: 'db.t3.medium',
      rds_multi_az: true,
      rds_storage: { allocated_gb: 100, type: 'io1', iops: 1000 },
    });
    expect(Object.keys(pre.aws_rds).slice(0, 4)).toEqual([
      'message',
      'rds_identifier',
      'rds_exists',
      'rds_state',
    ]);
    const post = w.bucket.json(`${P}/history/10/post-state.json`) as any;
    expect(post.k8s_deployments['backend-deployment']).toMatchObject({
      deployment_replicas: 0,
      deployment_available: false,
      deployment_available_reason: null,
      app_status: 'down',
    });
    expect(post.aws_rds.rds_state).toBe('stopped');
    const action = w.bucket.json(`${P}/actions.json`) as any;
    expect(action).toMatchObject({
      trigger: 'cli',
      jenkins_build: '10',
      jenkins_user: 'jenkins-user',
      customer: 'alpha',
      environment: 'dev',
      desired_state: 'down',
      result: 'succeeded',
      last_change: {
        desired_state: 'down',
        jenkins_build: '10',
        result: 'succeeded',
        restore_point_build: '10',
      },
    });
    expect(action.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(w.bucket.json(`${P}/history/10/actions.json`)).toEqual(action);
    expect(summaryOf(run).lock).toBe('released');
  });

  it('waits through stopping, stopping, stopped on the check schedule', async () => {
    w.scriptDb(['available', 'available', 'stopping', 'stopping', 'stopped']);
    const run = await down('10');
    expect(run.path.filter((s) => s === Steps.checkDatabaseStopped)).toHaveLength(3);
    expect(run.path.filter((s) => s === Steps.waitDatabaseStop)).toHaveLength(2);
    // 300 s usual stop: checks at 0, then at 300/16 and 300/4 s (the next would be at 300 s)
    expect(run.waited).toEqual([19, 56]);
    expect((w.bucket.json(`${P}/history/10/post-state.json`) as any).aws_rds.rds_state).toBe('stopped');
  });

  it('reports a configured deployment that does not exist and still scales the others', async () => {
    const run = await runWorkflow(w, { action: 'down', customer: 'gamma', environment: 'dev', build: '5' });
    expect(run.status).toBe('SUCCEEDED');
    expect(w.kube.replicas('gamma-dev', 'frontend-deployment')).toBe(0);
    const summary = summaryOf(run);
    expect(summary.skipped).toEqual([
      { deployment: 'ghost-deployment', reason: 'deployment gamma-dev/ghost-deployment does not exist' },
    ]);
    const pre = w.bucket.json('eks-dev-cluster/gamma/dev/history/5/pre-state.json') as any;
    expect(pre.k8s_deployments['ghost-deployment']).toMatchObject({
      deployment_exists: false,
      deployment_replicas: 0,
    });
    expect((w.bucket.json('eks-dev-cluster/gamma/dev/actions.json') as any).skipped).toHaveLength(1);
  });

  it('stops an Aurora cluster as a cluster', async () => {
    const run = await runWorkflow(w, {
      action: 'down',
      customer: 'beta',
      environment: 'staging',
      build: '1',
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(w.rdsCalls).toEqual(['StopDBCluster']);
    const pre = w.bucket.json('eks-dev-cluster/beta/staging/history/1/pre-state.json') as any;
    expect(pre.aws_rds).toMatchObject({
      rds_identifier: 'beta-staging-aurora',
      rds_kind: 'cluster',
      rds_engine: 'aurora-postgresql',
      rds_members: [
        { identifier: 'beta-staging-aurora-1', instance_class: 'db.r6g.large', writer: true },
        { identifier: 'beta-staging-aurora-2', instance_class: 'db.r6g.xlarge', writer: false },
      ],
      rds_serverless_v2: { min_acu: 0.5, max_acu: 4 },
    });
    // The members' classes are read once, for the pre-state only (RDS requests are budgeted).
    const memberReads = w.rds
      .commandCalls(DescribeDBInstancesCommand)
      .filter((c) => c.args[0].input.Filters !== undefined);
    expect(memberReads).toHaveLength(RUN_REQUESTS.auroraMembers);
    const post = w.bucket.json('eks-dev-cluster/beta/staging/history/1/post-state.json') as any;
    expect(post.aws_rds.rds_members).toBeUndefined();
    expect(post.aws_rds.rds_engine).toBe('aurora-postgresql');
  });

  it("still stops an Aurora cluster when RDS refuses to list its members' classes: each is of unknown class", async () => {
    const statusRead = w.rds.commandCalls(DescribeDBInstancesCommand).length;
    w.rds
      .on(DescribeDBInstancesCommand, {
        Filters: [{ Name: 'db-cluster-id', Values: ['beta-staging-aurora'] }],
      })
      .rejects(
        new RDSServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: {},
          message: 'not authorized',
        }),
      );
    const run = await runWorkflow(w, {
      action: 'down',
      customer: 'beta',
      environment: 'staging',
      build: '2',
    });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(w.rds.commandCalls(DescribeDBInstancesCommand).length).toBe(statusRead + 1);
    const pre = w.bucket.json('eks-dev-cluster/beta/staging/history/2/pre-state.json') as any;
    expect(pre.aws_rds.rds_members).toEqual([
      { identifier: 'beta-staging-aurora-1', instance_class: null, writer: true },
      { identifier: 'beta-staging-aurora-2', instance_class: null, writer: false },
    ]);
  });
});

describe('up', () => {
  it('waits for a database still stopping, then starts it, instead of failing (a wake right after a down)', async () => {
    await down('10');
    // Prepare, Start database and the first checks see it still stopping: no start is issued
    // until it is stopped; then one start, and the up goes on as usual.
    w.scriptDb(['stopping', 'stopping', 'stopping', 'stopped', 'starting', 'available']);
    // RDS refuses a start while stopping: the state each start met is what this test is about.
    // The world's dbState() is the state the NEXT describe reports; 'starting' follows 'stopped'.
    const metBy: string[] = [];
    w.rds.on(StartDBInstanceCommand).callsFake(() => {
      metBy.push(w.dbState());
      w.rdsCalls.push('StartDBInstance');
      return {};
    });
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(metBy).toEqual(['starting']);
    expect(w.rdsCalls).toEqual(['StopDBInstance', 'StartDBInstance']);
    expect(run.path.filter((s) => s === Steps.checkDatabaseAvailable).length).toBeGreaterThanOrEqual(3);
    expect(replicas('alpha-dev', 'frontend-deployment')).toBe(1);
    expect((w.bucket.json(`${P}/actions.json`) as any).result).toBe('succeeded');
  });

  it('starts the database and restores the counts recorded before the last down', async () => {
    await down('10');
    w.scriptDb(['stopped', 'stopped', 'starting', 'starting', 'starting', 'available']);
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');

    const start = run.path.indexOf(Steps.startDatabase);
    const restore = run.path.indexOf(Steps.restoreReplicas);
    expect(start).toBeGreaterThan(run.path.indexOf(Steps.whichAction));
    expect(restore).toBeGreaterThan(run.path.lastIndexOf(Steps.checkDatabaseAvailable));
    expect(run.path.filter((s) => s === Steps.waitDatabaseStart)).toHaveLength(3);
    expect(run.path.slice(restore)).toEqual([
      Steps.restoreReplicas,
      Steps.checkDeploymentsAvailable,
      Steps.deploymentsAvailable,
      Steps.checkHealth,
      Steps.appsHealthy,
      Steps.resumeCronJobs,
      Steps.recordResult,
      Steps.done,
    ]);
    expect(w.rdsCalls).toEqual(['StopDBInstance', 'StartDBInstance']);
    expect(replicas('alpha-dev', 'frontend-deployment')).toBe(1);
    expect(replicas('alpha-dev', 'backend-deployment')).toBe(2);
    const action = w.bucket.json(`${P}/actions.json`) as any;
    expect(action).toMatchObject({
      desired_state: 'up',
      jenkins_build: '11',
      result: 'succeeded',
      restored_from_build: '10',
    });
    const post = w.bucket.json(`${P}/history/11/post-state.json`) as any;
    expect(post.aws_rds.rds_state).toBe('available');
    expect(post.k8s_deployments['backend-deployment']).toMatchObject({
      deployment_replicas: 2,
      app_status: 'up',
    });
  });

  it('waits for deployments that take a few polls to become available', async () => {
    w = makeWorld({ readsUntilReady: 2 });
    await down('10');
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path.filter((s) => s === Steps.waitDeploymentsStart).length).toBeGreaterThanOrEqual(1);
  });

  it('restores from history written by the legacy tool (frontend 1, backend 2)', async () => {
    w.bucket.put(`${P}/history/10/pre-state.json`, fixtureJson('legacy-pre-state-build-10.json'));
    w.bucket.put(`${P}/actions.json`, fixtureJson('legacy-actions-build-10.json'));
    await w.kube.scaleDeployment('alpha-dev', 'frontend-deployment', 0);
    await w.kube.scaleDeployment('alpha-dev', 'backend-deployment', 0);
    w.setDbState('stopped');

    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(replicas('alpha-dev', 'frontend-deployment')).toBe(1);
    expect(replicas('alpha-dev', 'backend-deployment')).toBe(2);
    expect(summaryOf(run).restorePoint).toMatchObject({ build: '10', key: `${P}/history/10/pre-state.json` });
    expect((w.bucket.json(`${P}/actions.json`) as any).restored_from_build).toBe('10');
  });

  it('leaves a deployment changed while down as it is, and reports it', async () => {
    await down('10');
    await w.kube.scaleDeployment('alpha-dev', 'backend-deployment', 5);
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status).toBe('SUCCEEDED');
    expect(replicas('alpha-dev', 'frontend-deployment')).toBe(1);
    expect(replicas('alpha-dev', 'backend-deployment')).toBe(5);
    expect(summaryOf(run).skipped).toEqual([
      { deployment: 'backend-deployment', reason: 'changed while down (now 5, recorded 2); left as it is' },
    ]);
    expect((w.bucket.json(`${P}/actions.json`) as any).skipped).toHaveLength(1);
  });

  it('fails with WaitTimedOut when a health URL never answers, and records it', async () => {
    await down('10');
    w.unhealthy.add('https://frontend-dev-alpha.example.com/healthz');
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('WaitTimedOut');
    expect(run.error?.Cause).toContain('frontend-dev-alpha.example.com');
    expect(run.path.slice(-2)).toEqual([Steps.recordFailure, Steps.runFailed]);
    expect(run.waited.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(600);
    const action = w.bucket.json(`${P}/actions.json`) as any;
    expect(action).toMatchObject({ desired_state: 'up', result: 'failed', error: { name: 'WaitTimedOut' } });
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
  });
});

describe('get_env_state', () => {
  it('is read-only by default: no lock, no record, and shows the run in progress', async () => {
    await down('10');
    const keys = w.bucket.keys();
    const writes = w.bucket.writes.length;
    w.bucket.put(`${P}/lock.json`, {
      owner: 'arn:aws:states:us-east-1:1:execution:x:y',
      build: '11',
      execution_id: 'arn:aws:states:us-east-1:1:execution:x:y',
      action: 'up',
      user: 'jenkins',
      step: 'Wait for database to start',
      acquired_at: '2026-11-26T19:00:00Z',
      heartbeat_at: '2026-11-26T19:10:00Z',
      expires_at: '2026-11-26T23:00:00Z',
    });
    const run = await runWorkflow(w, { action: 'get_env_state', build: '12' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      Steps.inputIsObject,
      Steps.prepare,
      Steps.dryRun,
      Steps.recordIntent,
      Steps.whichAction,
      Steps.recordResult,
      Steps.done,
    ]);
    expect(w.bucket.keys()).toEqual([...keys, `${P}/lock.json`].sort());
    expect(w.bucket.writes.length).toBe(writes);
    expect(summaryOf(run)).toMatchObject({
      inProgress: { action: 'up', build: '11', step: 'Wait for database to start' },
      records: [],
      lock: 'none',
    });
    expect(summaryOf(run).preState.k8s_deployments['backend-deployment'].deployment_replicas).toBe(0);
  });

  it('with record: true writes the legacy records and keeps the last change for the next up', async () => {
    await down('10');
    const before = w.rdsCalls.length;
    const run = await runWorkflow(w, { action: 'get_env_state', build: '12', record: true });
    expect(run.status).toBe('SUCCEEDED');
    expect(w.rdsCalls.length).toBe(before);
    expect(w.kube.scaled).toHaveLength(2);
    expect(w.bucket.keys()).toContain(`${P}/history/12/pre-state.json`);
    const latest = w.bucket.json(`${P}/actions.json`) as any;
    expect(latest).toMatchObject({
      desired_state: 'get_env_state',
      last_change: { desired_state: 'down', jenkins_build: '10' },
    });
    const up = await runWorkflow(w, { action: 'up', build: '13' });
    expect(up.status).toBe('SUCCEEDED');
    expect(summaryOf(up).restorePoint.build).toBe('10');
  });
});

describe('dry run', () => {
  it('of an up shows the restore plan, drift included, and starts nothing', async () => {
    await down('10');
    await w.kube.scaleDeployment('alpha-dev', 'frontend-deployment', 3);
    const keys = w.bucket.keys();
    const run = await runWorkflow(w, { action: 'up', build: '11', dryRun: true });
    expect(run.status).toBe('SUCCEEDED');
    expect((run.output as any).plan).toEqual([
      {
        kind: 'database',
        database: "RDS instance 'alpha-dev-rds'",
        state: 'stopped',
        goal: 'available',
        needed: true,
      },
      {
        kind: 'skip',
        namespace: 'alpha-dev',
        deployment: 'frontend-deployment',
        reason: 'changed while down (now 3, recorded 1); left as it is',
      },
      {
        kind: 'scale',
        namespace: 'alpha-dev',
        deployment: 'backend-deployment',
        from: 0,
        to: 2,
        fromBuild: '10',
      },
      { kind: 'wait', for: 'deployments' },
      { kind: 'wait', for: 'health' },
    ]);
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
    expect(w.bucket.keys()).toEqual(keys);
    expect(replicas('alpha-dev', 'backend-deployment')).toBe(0);
  });

  it('reports the plan and writes, scales and stops nothing', async () => {
    const run = await runWorkflow(w, { action: 'down', build: '10', dryRun: true });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      Steps.inputIsObject,
      Steps.prepare,
      Steps.dryRun,
      Steps.planDryRun,
      Steps.dryRunDone,
    ]);
    expect(w.bucket.keys()).toEqual([]);
    expect(w.kube.scaled).toEqual([]);
    expect(w.rdsCalls).toEqual([]);
    expect((run.output as any).plan).toContainEqual({
      kind: 'scale',
      namespace: 'alpha-dev',
      deployment: 'backend-deployment',
      from: 2,
      to: 0,
    });
  });
});

describe('refusals change nothing', () => {
  const refused = async (input: Parameters<typeof runWorkflow>[1], name: string, message: RegExp) => {
    const keys = w.bucket.keys();
    const scaled = w.kube.scaled.length;
    const run = await runWorkflow(w, input);
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe(name);
    expect(run.error?.Cause).toMatch(message);
    expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(w.bucket.keys()).toEqual(
      keys
        .filter((k) => !k.endsWith('lock.json'))
        .concat(keys.filter((k) => k.endsWith('lock.json')))
        .sort(),
    );
    expect(w.kube.scaled.length).toBe(scaled);
  };

  it('refuses up on the first run', async () => {
    await refused({ action: 'up', build: '1' }, 'ActionRefused', /no recorded down/);
  });

  it('refuses up right after another up', async () => {
    await down('10');
    await runWorkflow(w, { action: 'up', build: '11' });
    await refused({ action: 'up', build: '12' }, 'ActionRefused', /already an up \(build 11\)/);
  });

  it('refuses down right after another down', async () => {
    await down('10');
    await refused({ action: 'down', build: '11' }, 'ActionRefused', /already down since build 10/);
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
  });

  it('refuses a build id that already has history', async () => {
    await down('10');
    await runWorkflow(w, { action: 'up', build: '11' });
    await refused({ action: 'down', build: '10' }, 'BuildAlreadyRecorded', /never overwritten/);
  });

  it('refuses while another run holds the lock, and leaves its lock alone', async () => {
    const lock = {
      owner: 'other',
      build: '9',
      execution_id: 'other',
      acquired_at: '2026-11-26T19:59:00Z',
      expires_at: '2026-11-26T23:00:00Z',
    };
    w.bucket.put(`${P}/lock.json`, lock);
    await refused(
      { action: 'down', build: '10' },
      'EnvironmentLocked',
      /locked by .*build 9.*cim unlock --customer alpha --env dev/,
    );
    expect(w.bucket.json(`${P}/lock.json`)).toEqual(lock);
  });

  it('takes over a lock that expired', async () => {
    w.bucket.put(`${P}/lock.json`, {
      owner: 'dead',
      build: '9',
      execution_id: 'dead',
      acquired_at: '2026-11-26T10:00:00Z',
      expires_at: '2026-11-26T14:00:00Z',
    });
    const run = await runWorkflow(w, { action: 'down', build: '10' });
    expect(run.status).toBe('SUCCEEDED');
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
  });

  it.each([
    [{ action: 'restart', build: '1' }, /action must be one of up, down, get_env_state/],
    [{ action: 'down', customer: 'nobody', build: '1' }, /environment "nobody\/dev" not found/],
    [{ action: 'down', build: '../10' }, /build must be/],
    [{ action: 'down', build: '' }, /build must be/],
    [{ action: 'down', customer: '../alpha', build: '1' }, /customer must be/],
    [{ action: 'down', build: '1', user: '' }, /user must not be empty/],
    [{ action: 'down', build: '1', user: 'a\u0007b' }, /control characters/],
  ])('refuses bad input %j', async (input, message) => {
    const run = await runWorkflow(w, input as never);
    expect(run.status).toBe('FAILED');
    expect(['InvalidInput', 'UnknownEnvironment']).toContain(run.error?.Error);
    expect(run.error?.Cause).toMatch(message);
    expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(w.bucket.keys()).toEqual([]);
    expect(w.kube.scaled).toEqual([]);
  });

  it('refuses an up whose restore point is not valid JSON, before starting anything', async () => {
    await down('10');
    w.bucket.put(`${P}/history/10/pre-state.json`, '{"k8s_deployments": ');
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.error?.Error).toBe('StateRecordInvalid');
    expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
  });
});

describe('failures', () => {
  it('fails on a database error state with its name, records it and releases the lock', async () => {
    w.scriptDb(['available', 'available', 'stopping', 'incompatible-network']);
    const run = await runWorkflow(w, { action: 'down', build: '10' });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('DatabaseErrorState');
    expect(run.error?.Cause).toMatch(/incompatible-network/);
    expect(run.path.slice(-2)).toEqual([Steps.recordFailure, Steps.runFailed]);
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({
      result: 'failed',
      error: { name: 'DatabaseErrorState' },
    });
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
  });

  it('gives up a wait past its deadline with WaitTimedOut', async () => {
    w.scriptDb(['available', 'available', 'stopping']);
    const run = await runWorkflow(w, { action: 'down', build: '10' });
    expect(run.error?.Error).toBe('WaitTimedOut');
    expect(run.error?.Cause).toMatch(
      /gave up waiting for RDS instance 'alpha-dev-rds' to be 'stopped' after 3600 s \(last seen: stopping\)/,
    );
    const checks = run.path.filter((s) => s === Steps.checkDatabaseStopped).length;
    expect(checks).toBeLessThan(40); // a fixed 15 s poll would take 240
  });

  it('records a failure in the middle, releases the lock, and a retried down keeps the first restore point', async () => {
    const { RDSServiceException, StopDBInstanceCommand } = await import('@aws-sdk/client-rds');
    w.rds.on(StopDBInstanceCommand).rejectsOnce(
      new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        $metadata: {},
        message: 'has a read replica',
      }),
    );
    const run = await runWorkflow(w, { action: 'down', build: '10' });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('DatabaseActionFailed');
    expect(run.path.slice(-4)).toEqual([
      Steps.stopDatabase,
      caughtState(Steps.stopDatabase),
      Steps.recordFailure,
      Steps.runFailed,
    ]);
    expect(run.path.indexOf(Steps.deploymentsStopped)).toBeLessThan(run.path.indexOf(Steps.stopDatabase));
    expect(replicas('alpha-dev', 'frontend-deployment')).toBe(0);
    expect(w.bucket.json(`${P}/history/10/actions.json`)).toMatchObject({
      result: 'failed',
      error: { name: 'DatabaseActionFailed', step: Steps.stopDatabase },
      last_change: { desired_state: 'down', result: 'failed', restore_point_build: '10' },
    });
    expect(w.bucket.json(`${P}/history/10/post-state.json`)).toBeDefined();
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);

    w.rds.on(StopDBInstanceCommand).callsFake(() => {
      w.setDbState('stopped');
      return {};
    });
    expect((await runWorkflow(w, { action: 'down', build: '11' })).status).toBe('SUCCEEDED');
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ last_change: { restore_point_build: '10' } });
    const up = await runWorkflow(w, { action: 'up', build: '12' });
    expect(up.status).toBe('SUCCEEDED');
    expect(replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it.each([
    ['read', 'forbiddenNamespaces'],
    ['scale', 'readOnlyNamespaces'],
  ] as const)(
    'refuses a down it has no permission to %s, before any change (preflight)',
    async (_what, set) => {
      w.kube[set].add('alpha-dev');
      const run = await runWorkflow(w, { action: 'down', build: '10' });
      expect(run.error?.Error).toBe('PreflightFailed');
      expect(run.error?.Cause).toMatch(/access denied/);
      expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
      expect(w.bucket.keys()).toEqual([]);
    },
  );
});
