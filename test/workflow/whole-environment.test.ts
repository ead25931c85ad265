import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import { LegacyState } from '#core/records/legacy-state';
import { Steps } from '#core/steps';
import { FAKE_DEPLOYMENT_REQUESTS, FAKE_STATEFULSET_REQUESTS } from '../support/fake-kube.ts';
import { runWorkflow } from '../support/run-workflow.ts';
import { fixtureJson, makeWorld, type World } from '../support/world.ts';

// delta/dev: the two default deployments, a StatefulSet, a CronJob and a CronJob that was
// already suspended before anyone ran down.
const P = 'eks-dev-cluster/delta/dev';
const NS = 'delta-dev';
let w: World;
beforeEach(() => {
  r0 = 0;
  w = makeWorld();
  (w.config.environments as Record<string, unknown>)['delta/dev'] = {
    workloads: [
      { kind: 'StatefulSet', name: 'redis' },
      { kind: 'CronJob', name: 'report' },
      { kind: 'CronJob', name: 'paused-report' },
    ],
  };
  w.kube
    .add(NS, 'frontend-deployment', 1)
    .add(NS, 'backend-deployment', 2)
    .addStatefulSet(NS, 'redis', 3)
    .addCronJob(NS, 'report')
    .addCronJob(NS, 'paused-report', true);
});
afterEach(() => w.restore());

const run = (action: string, build: string, extra: Record<string, unknown> = {}) =>
  runWorkflow(w, { action, build, customer: 'delta', environment: 'dev', ...extra });
const sts = () => w.kube.statefulSets.get(`${NS}/redis`)?.replicas;
const suspended = (name: string) => w.kube.cronJobs.get(`${NS}/${name}`)?.suspend;
const deployments = () => [
  w.kube.replicas(NS, 'frontend-deployment'),
  w.kube.replicas(NS, 'backend-deployment'),
];
const summaryOf = (r: { output: unknown }) => r.output as Record<string, any>;
let r0 = 0;

async function down(build = '20') {
  const r = await run('down', build);
  expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
  return r;
}

describe('down of a whole environment', () => {
  it('suspends CronJobs, then stops deployments, then StatefulSets, then the database, as states', async () => {
    const r = await down();
    expect(r.path.slice(r.path.indexOf(Steps.whichAction))).toEqual([
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
    expect(w.kube.log).toEqual([
      `suspend cronjob ${NS}/report`,
      `suspend cronjob ${NS}/paused-report`,
      `scale deployment ${NS}/frontend-deployment 0`,
      `scale deployment ${NS}/backend-deployment 0`,
      `scale statefulset ${NS}/redis 0`,
    ]);
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
    expect(sts()).toBe(0);
    expect(deployments()).toEqual([0, 0]);
    expect([suspended('report'), suspended('paused-report')]).toEqual([true, true]);
    expect(summaryOf(r).workloadChanges).toEqual([
      { kind: 'CronJob', name: 'report', namespace: NS, from: false, to: true },
      { kind: 'CronJob', name: 'paused-report', namespace: NS, from: true, to: true },
      { kind: 'StatefulSet', name: 'redis', namespace: NS, from: 3, to: 0 },
    ]);
  });

  it('records the other kinds in keys of their own and keeps k8s_deployments legacy-shaped', async () => {
    await down('20');
    const pre = w.bucket.json(`${P}/history/20/pre-state.json`) as any;
    const legacy = fixtureJson('legacy-pre-state-build-10.json') as any;
    // The legacy keys in their order, then only the additive pod_requests (issue 18).
    expect(Object.keys(pre.k8s_deployments['frontend-deployment'])).toEqual([
      ...Object.keys(legacy.k8s_deployments['frontend-deployment']),
      'pod_requests',
    ]);
    expect(pre.k8s_deployments['frontend-deployment'].pod_requests).toEqual({
      cpu_cores: FAKE_DEPLOYMENT_REQUESTS.cpuCores,
      memory_bytes: FAKE_DEPLOYMENT_REQUESTS.memoryBytes,
    });
    expect(pre.k8s_statefulsets).toEqual({
      redis: {
        statefulset_namespace: NS,
        statefulset_exists: true,
        statefulset_replicas: 3,
        statefulset_ready_replicas: 3,
        pod_requests: {
          cpu_cores: FAKE_STATEFULSET_REQUESTS.cpuCores,
          memory_bytes: FAKE_STATEFULSET_REQUESTS.memoryBytes,
        },
      },
    });
    expect(pre.k8s_cronjobs).toEqual({
      report: {
        cronjob_namespace: NS,
        cronjob_exists: true,
        cronjob_suspend: false,
        cronjob_schedule: '*/1 * * * *',
        cronjob_active_jobs: 0,
      },
      'paused-report': {
        cronjob_namespace: NS,
        cronjob_exists: true,
        cronjob_suspend: true,
        cronjob_schedule: '*/1 * * * *',
        cronjob_active_jobs: 0,
      },
    });
    // A reader that knows only the legacy keys still reads it.
    const { k8s_statefulsets: _s, k8s_cronjobs: _c, ...legacyOnly } = pre;
    expect(LegacyState.safeParse(legacyOnly).success).toBe(true);
    const post = w.bucket.json(`${P}/history/20/post-state.json`) as any;
    expect(post.k8s_statefulsets.redis.statefulset_replicas).toBe(0);
    expect(post.k8s_cronjobs.report.cronjob_suspend).toBe(true);
  });

  it('reports a StatefulSet deleted between the snapshot and its scale, and finishes', async () => {
    const r = await runWorkflow(
      w,
      { action: 'down', build: '21', customer: 'delta', environment: 'dev' },
      {
        wrapTask: (state, fn) => async (e) => {
          if (state === Steps.scaleStatefulSetsDown) w.kube.statefulSets.delete(`${NS}/redis`);
          return fn(e);
        },
      },
    );
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
    expect((w.bucket.json(`${P}/actions.json`) as any).skipped).toEqual([
      {
        deployment: 'redis',
        kind: 'StatefulSet',
        reason: `StatefulSet ${NS}/redis was deleted during the run`,
      },
    ]);
  });

  it('waits for running Jobs of suspended CronJobs up to jobsGraceSeconds, then goes on and reports them', async () => {
    (w.config.environments as Record<string, any>)['delta/dev'].jobsGraceSeconds = 60;
    const job = w.kube.cronJobs.get(`${NS}/report`);
    if (job) job.activeJobs = 1;
    const r = await down('23');
    const checks = r.path.filter((s) => s === Steps.checkStatefulSetsStopped).length;
    expect(checks).toBeGreaterThan(1);
    expect(r.path.indexOf(Steps.stopDatabase)).toBeGreaterThan(
      r.path.lastIndexOf(Steps.waitStatefulSetsStop),
    );
    const post = w.bucket.json(`${P}/history/23/post-state.json`) as any;
    expect(post.k8s_cronjobs.report).toMatchObject({ cronjob_suspend: true, cronjob_active_jobs: 1 });
  });

  it('does not wait when the Jobs finish within the grace', async () => {
    const job = w.kube.cronJobs.get(`${NS}/report`);
    if (job) job.activeJobs = 1;
    const r = await runWorkflow(
      w,
      { action: 'down', build: '24', customer: 'delta', environment: 'dev' },
      {
        wrapTask: (state, fn) => async (e) => {
          if (state === Steps.checkStatefulSetsStopped && r0++ === 1 && job) job.activeJobs = 0;
          return fn(e);
        },
      },
    );
    expect(r.status).toBe('SUCCEEDED');
    expect(r.path.filter((s) => s === Steps.checkStatefulSetsStopped)).toHaveLength(2);
  });

  it('reports a configured CronJob that does not exist and still does the rest', async () => {
    w.kube.cronJobs.delete(`${NS}/report`);
    const r = await down('22');
    expect(sts()).toBe(0);
    expect(summaryOf(r).skipped).toContainEqual({
      deployment: 'report',
      kind: 'CronJob',
      reason: `CronJob ${NS}/report does not exist`,
    });
  });
});

describe('plans and preflight of a whole environment', () => {
  it('plans the phases of a down in order, changing nothing', async () => {
    const r = await run('down', '30', { dryRun: true });
    expect(r.status).toBe('SUCCEEDED');
    expect((r.output as any).plan.map((c: any) => c.kind)).toEqual([
      'cronjob',
      'cronjob',
      'scale',
      'scale',
      'wait',
      'statefulset',
      'wait',
      'database',
    ]);
    expect((r.output as any).plan).toContainEqual({
      kind: 'statefulset',
      namespace: NS,
      name: 'redis',
      from: 3,
      to: 0,
    });
    expect(w.kube.log).toEqual([]);
  });

  it('plans an up: StatefulSets before deployments, CronJobs back to their recorded flag last', async () => {
    await down('20');
    const r = await run('up', '31', { dryRun: true });
    const plan = (r.output as any).plan;
    expect(plan.at(-2)).toEqual({
      kind: 'cronjob',
      namespace: NS,
      name: 'report',
      suspend: false,
      from: true,
    });
    expect(plan.at(-1)).toEqual({
      kind: 'cronjob',
      namespace: NS,
      name: 'paused-report',
      suspend: true,
      from: true,
    });
    expect(plan.findIndex((c: any) => c.kind === 'statefulset')).toBeLessThan(
      plan.findIndex((c: any) => c.kind === 'scale'),
    );
  });

  it('refuses a down of a StatefulSet above maxReplicas before anything changes', async () => {
    await w.kube.scaleStatefulSet(NS, 'redis', 500);
    w.kube.log.length = 0;
    const r = await run('down', '32');
    expect(r.error?.Error).toBe('PreflightFailed');
    expect(r.error?.Cause).toContain('StatefulSet delta-dev/redis runs 500 replicas, above maxReplicas 100');
    expect(w.kube.log).toEqual([]);
    expect(w.bucket.keys()).toEqual([]);
  });
});

describe('up of a whole environment', () => {
  it('starts the database, then StatefulSets, deployments, health, and resumes CronJobs last', async () => {
    await down('20');
    w.kube.log.length = 0;
    const r = await run('up', '23');
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(r.path.slice(r.path.indexOf(Steps.whichAction))).toEqual([
      Steps.whichAction,
      Steps.startDatabase,
      Steps.databaseStartEvents,
      Steps.checkDatabaseAvailable,
      Steps.databaseAvailable,
      Steps.restoreScaledObjects,
      Steps.restoreStatefulSets,
      Steps.checkStatefulSetsReady,
      Steps.statefulSetsReady,
      Steps.restoreReplicas,
      Steps.checkDeploymentsAvailable,
      Steps.deploymentsAvailable,
      Steps.checkHealth,
      Steps.appsHealthy,
      Steps.resumeCronJobs,
      Steps.recordResult,
      Steps.done,
    ]);
    expect(w.kube.log).toEqual([
      `scale statefulset ${NS}/redis 3`,
      `scale deployment ${NS}/frontend-deployment 1`,
      `scale deployment ${NS}/backend-deployment 2`,
      `resume cronjob ${NS}/report`,
    ]);
    expect(sts()).toBe(3);
    expect(deployments()).toEqual([1, 2]);
    // The one that was suspended before the down stays suspended.
    expect([suspended('report'), suspended('paused-report')]).toEqual([false, true]);
  });

  it('waits for the StatefulSet to be ready before it scales the deployments', async () => {
    await down('20');
    const set = w.kube.statefulSets.get(`${NS}/redis`);
    const r = await runWorkflow(
      w,
      { action: 'up', build: '24', customer: 'delta', environment: 'dev' },
      {
        wrapTask: (state, fn) => async (e) => {
          const out = await fn(e);
          // Not ready for the first two looks.
          if (state === Steps.restoreStatefulSets && set) {
            set.available = 0;
            set.readsLeft = 2;
          }
          return out;
        },
      },
    );
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    const checks = r.path.filter((s) => s === Steps.checkStatefulSetsReady).length;
    expect(checks).toBe(3);
    expect(r.path.indexOf(Steps.restoreReplicas)).toBeGreaterThan(
      r.path.lastIndexOf(Steps.waitStatefulSetsStart),
    );
  });

  it('restores a legacy restore point (no StatefulSet or CronJob keys) and leaves those as they are', async () => {
    await down('20');
    const key = `${P}/history/20/pre-state.json`;
    const { k8s_statefulsets: _s, k8s_cronjobs: _c, ...legacy } = w.bucket.json(key) as any;
    w.bucket.put(key, legacy);
    const r = await run('up', '25');
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(deployments()).toEqual([1, 2]);
    expect(sts()).toBe(0);
    expect(suspended('report')).toBe(true);
    expect(summaryOf(r).skipped.map((s: any) => [s.deployment, s.reason])).toEqual([
      ['redis', 'not in the restore point of build 20, left as it is (at 0)'],
      ['report', 'not in the restore point of build 20, left as it is (suspend true)'],
      ['paused-report', 'not in the restore point of build 20, left as it is (suspend true)'],
    ]);
  });

  it('leaves a StatefulSet changed while down as it is, and says so', async () => {
    await down('20');
    await w.kube.scaleStatefulSet(NS, 'redis', 1);
    const r = await run('up', '26');
    expect(r.status).toBe('SUCCEEDED');
    expect(sts()).toBe(1);
    expect(summaryOf(r).skipped).toContainEqual({
      deployment: 'redis',
      kind: 'StatefulSet',
      reason: 'changed while down (now 1, recorded 3); left as it is',
    });
  });
});

describe('restore points of whole environments are checked', () => {
  const tamper = async (edit: (rec: any) => void) => {
    await down('20');
    const key = `${P}/history/20/pre-state.json`;
    const rec = w.bucket.json(key) as any;
    edit(rec);
    w.bucket.put(key, rec);
    w.kube.log.length = 0;
    const writes = w.bucket.writes.length;
    const r = await run('up', '27');
    expect(r.status).toBe('FAILED');
    expect(r.error?.Error).toBe('StateRecordInvalid');
    expect(w.kube.log).toEqual([]);
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
    expect(w.bucket.writes.length).toBe(writes);
    return r.error?.Cause ?? '';
  };

  it('refuses a StatefulSet whose recorded count is not an integer', async () => {
    const cause = await tamper((rec) => {
      rec.k8s_statefulsets.redis.statefulset_replicas = 2.5;
    });
    expect(cause).toContain('k8s_statefulsets.redis.statefulset_replicas');
    expect(cause).toContain('cannot be trusted');
  });

  it('refuses a StatefulSet count above maxReplicas', async () => {
    const cause = await tamper((rec) => {
      rec.k8s_statefulsets.redis.statefulset_replicas = 5000;
    });
    expect(cause).toContain('StatefulSet redis would be restored to 5000 replicas, above maxReplicas 100');
  });

  it('refuses a CronJob recorded in another namespace', async () => {
    const cause = await tamper((rec) => {
      rec.k8s_cronjobs.report.cronjob_namespace = 'other';
    });
    expect(cause).toContain('CronJob report is recorded in namespace "other", configured in "delta-dev"');
  });

  it('refuses a suspend flag that is not true or false', async () => {
    const cause = await tamper((rec) => {
      rec.k8s_cronjobs.report.cronjob_suspend = 'yes';
    });
    expect(cause).toContain('k8s_cronjobs.report.cronjob_suspend');
  });
});

describe('configuration of workloads', () => {
  const base = {
    defaults: { cluster: 'c', region: 'us-east-1', bucket: 'bucket-a', deployments: [{ name: 'web' }] },
  };
  it('refuses a workload kind it does not know, naming the kinds it knows', () => {
    expect(() =>
      parseConfig(
        { ...base, environments: { 'a/dev': { workloads: [{ kind: 'DaemonSet', name: 'x' }] } } },
        'env.yaml',
      ),
    ).toThrow(
      /environments\["a\/dev"\]\.workloads\[0\]\.kind: workload kind "DaemonSet" is not known: use StatefulSet or CronJob/,
    );
  });
  it('refuses the same StatefulSet twice', () => {
    expect(() =>
      parseConfig(
        {
          ...base,
          environments: {
            'a/dev': {
              workloads: [
                { kind: 'StatefulSet', name: 'x' },
                { kind: 'StatefulSet', name: 'x', namespace: 'other' },
              ],
            },
          },
        },
        'env.yaml',
      ),
    ).toThrow(/StatefulSet "x" is listed twice/);
  });
});

describe('KEDA ScaledObjects', () => {
  beforeEach(() => {
    (w.config.environments as Record<string, any>)['delta/dev'].keda = true;
    w.kube.scaledObjects.set(`${NS}/backend-scaler`, {
      targetKind: 'Deployment',
      targetName: 'backend-deployment',
      pausedReplicas: null,
    });
    w.kube.scaledObjects.set(`${NS}/redis-scaler`, {
      targetKind: 'StatefulSet',
      targetName: 'redis',
      pausedReplicas: '5',
    });
    // Targets nothing of the environment: never touched.
    w.kube.scaledObjects.set(`${NS}/other-scaler`, {
      targetKind: 'Deployment',
      targetName: 'someone-else',
      pausedReplicas: null,
    });
  });
  const paused = (name: string) => w.kube.scaledObjects.get(`${NS}/${name}`)?.pausedReplicas;

  it('pauses them at 0 before any scale on down, and gives the exact annotation back before any scale on up', async () => {
    await down('50');
    expect(w.kube.log.slice(0, 4)).toEqual([
      `suspend cronjob ${NS}/report`,
      `suspend cronjob ${NS}/paused-report`,
      `paused-replicas ${NS}/backend-scaler 0`,
      `paused-replicas ${NS}/redis-scaler 0`,
    ]);
    expect([paused('backend-scaler'), paused('redis-scaler'), paused('other-scaler')]).toEqual([
      '0',
      '0',
      null,
    ]);
    const pre = w.bucket.json(`${P}/history/50/pre-state.json`) as any;
    expect(pre.keda_scaledobjects).toEqual({
      'backend-scaler': {
        scaledobject_namespace: NS,
        scaledobject_target_kind: 'Deployment',
        scaledobject_target_name: 'backend-deployment',
        paused_replicas: null,
      },
      'redis-scaler': {
        scaledobject_namespace: NS,
        scaledobject_target_kind: 'StatefulSet',
        scaledobject_target_name: 'redis',
        paused_replicas: '5',
      },
    });
    w.kube.log.length = 0;
    const up = await run('up', '51');
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(w.kube.log.slice(0, 3)).toEqual([
      `paused-replicas ${NS}/backend-scaler null`,
      `paused-replicas ${NS}/redis-scaler 5`,
      `scale statefulset ${NS}/redis 3`,
    ]);
    expect([paused('backend-scaler'), paused('redis-scaler'), paused('other-scaler')]).toEqual([
      null,
      '5',
      null,
    ]);
  });

  it('refuses a restore point that names a ScaledObject outside the environment', async () => {
    await down('50');
    const key = `${P}/history/50/pre-state.json`;
    const rec = w.bucket.json(key) as any;
    rec.keda_scaledobjects['backend-scaler'].scaledobject_namespace = 'kube-system';
    w.bucket.put(key, rec);
    const r = await run('up', '52');
    expect(r.error?.Error).toBe('StateRecordInvalid');
    expect(paused('backend-scaler')).toBe('0');
  });
});

describe('HorizontalPodAutoscalers', () => {
  beforeEach(() => {
    w.kube.hpas.set(`${NS}/backend-hpa`, {
      targetKind: 'Deployment',
      targetName: 'backend-deployment',
      minReplicas: 2,
      maxReplicas: 6,
    });
    w.kube.hpas.set(`${NS}/redis-hpa`, {
      targetKind: 'StatefulSet',
      targetName: 'redis',
      minReplicas: 3,
      maxReplicas: 5,
    });
    // Targets nothing of the environment: not recorded.
    w.kube.hpas.set(`${NS}/other-hpa`, {
      targetKind: 'Deployment',
      targetName: 'someone-else',
      minReplicas: 1,
      maxReplicas: 2,
    });
  });

  it('records their bounds at the down, and waits after the up until they are active again', async () => {
    await down('60');
    const pre = w.bucket.json(`${P}/history/60/pre-state.json`) as any;
    expect(pre.k8s_hpas).toEqual({
      'backend-hpa': {
        hpa_namespace: NS,
        hpa_target_kind: 'Deployment',
        hpa_target_name: 'backend-deployment',
        hpa_min_replicas: 2,
        hpa_max_replicas: 6,
      },
      'redis-hpa': {
        hpa_namespace: NS,
        hpa_target_kind: 'StatefulSet',
        hpa_target_name: 'redis',
        hpa_min_replicas: 3,
        hpa_max_replicas: 5,
      },
    });
    expect(LegacyState.safeParse(pre).success).toBe(true);
    // The controller's next sync comes two polls after the target is back above 0.
    const hpa = w.kube.hpas.get(`${NS}/backend-hpa`);
    if (hpa) hpa.staleReads = 2;
    const up = await run('up', '61');
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    const from = up.path.indexOf(Steps.deploymentsAvailable);
    // Two polls see the stale ScalingDisabled, the third the HPA acting again; then health.
    expect(up.path.slice(from, from + 9)).toEqual([
      Steps.deploymentsAvailable,
      Steps.checkAutoscalers,
      Steps.autoscalersActive,
      Steps.waitAutoscalers,
      Steps.checkAutoscalers,
      Steps.autoscalersActive,
      Steps.waitAutoscalers,
      Steps.checkAutoscalers,
      Steps.autoscalersActive,
    ]);
    expect(up.path[from + 9]).toBe(Steps.checkHealth);
    expect(summaryOf(up).skipped).toEqual([]);
  });

  it('reports an HPA whose bounds changed since the down, and leaves it as it is', async () => {
    await down('62');
    const hpa = w.kube.hpas.get(`${NS}/backend-hpa`);
    if (hpa) hpa.maxReplicas = 10;
    const up = await run('up', '63');
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(summaryOf(up).skipped).toEqual([
      {
        deployment: 'backend-hpa',
        kind: 'HorizontalPodAutoscaler',
        reason: `HorizontalPodAutoscaler ${NS}/backend-hpa changed since the down (min-max 2-6 at build 62, now 2-10); left as it is`,
      },
    ]);
    expect(w.kube.hpas.get(`${NS}/backend-hpa`)?.maxReplicas).toBe(10);
  });

  it('refuses a restore point whose HPA minReplicas is above its maxReplicas', async () => {
    await down('64');
    const key = `${P}/history/64/pre-state.json`;
    const rec = w.bucket.json(key) as any;
    rec.k8s_hpas['redis-hpa'].hpa_min_replicas = 9;
    w.bucket.put(key, rec);
    const r = await run('up', '65');
    expect(r.error?.Error).toBe('StateRecordInvalid');
    expect(r.error?.Cause).toContain('minReplicas 9 above maxReplicas 5');
    expect(sts()).toBe(0);
  });
});
