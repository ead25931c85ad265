// A whole environment on the real peers: deployments, a StatefulSet and CronJobs scaled and
// suspended by the real handlers, with the kube-controller-manager's StatefulSet, Job and
// CronJob controllers acting on what the run changed.

import { EKSClient } from '@aws-sdk/client-eks';
import { BatchV1Api, KubeConfig } from '@kubernetes/client-node';
import { beforeEach, describe, expect, it } from 'vitest';
import { Steps } from '#core/steps';
import { resetSandbox, waitFor } from '../../sandbox/sandbox.ts';
import { hpaStates, nodegroupScaling, pausedReplicas, WHOLE } from '../../sandbox/whole-environment.ts';
import { apps, dbInstanceState, json, pods, run, sandbox, waitForPods } from './peers.ts';

const NS = WHOLE.namespace;
const P = 'eks-dev-cluster/omega/dev';
const admin = new KubeConfig();
admin.loadFromFile(sandbox.adminKubeconfig);
const batch = admin.makeApiClient(BatchV1Api);
const eks = new EKSClient({
  region: 'us-east-1',
  endpoint: sandbox.awsEndpoint,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const workers = () => nodegroupScaling(eks, 'eks-dev-cluster');

const stsReplicas = async (name: string) =>
  (await apps.readNamespacedStatefulSet({ name, namespace: NS })).spec?.replicas;
const suspendOf = async (name: string) =>
  (await batch.readNamespacedCronJob({ name, namespace: NS })).spec?.suspend === true;
const jobsOf = async (cronJob: string) =>
  (await batch.listNamespacedJob({ namespace: NS })).items
    .filter((j) => j.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === cronJob))
    .map((j) => j.metadata?.name as string)
    .sort();
const state = async () => ({
  deployments: [
    (await apps.readNamespacedDeployment({ name: 'frontend-deployment', namespace: NS })).spec?.replicas,
    (await apps.readNamespacedDeployment({ name: 'backend-deployment', namespace: NS })).spec?.replicas,
  ],
  redis: await stsReplicas('redis'),
  excluded: (await apps.readNamespacedDeployment({ name: 'debug-tools', namespace: NS })).spec?.replicas,
  suspend: { report: await suspendOf('report'), paused: await suspendOf('paused-report') },
  keda: await pausedReplicas(admin),
});

/** Resolves once the wall clock is past the next CronJob tick (the start of a minute) plus `margin`. */
async function pastNextTick(marginMs: number) {
  const tick = Math.ceil((Date.now() + 1) / 60_000) * 60_000 + marginMs;
  await waitFor('the next CronJob tick to pass', async () => Date.now() >= tick, 75_000);
}

beforeEach(async () => {
  await resetSandbox(sandbox);
});

describe('a whole environment found by discovery on the real peers (omega/dev)', () => {
  it('down stops pods and CronJobs across a scheduled tick; up brings back exactly what was there', async () => {
    const before = await state();
    expect(before).toEqual({
      deployments: [1, 1],
      redis: 2,
      excluded: 1,
      suspend: { report: false, paused: true },
      keda: { 'backend-scaler': null, 'redis-scaler': '2' },
    });
    expect(await workers()).toEqual({ status: 'ACTIVE', minSize: 1, desiredSize: 2, maxSize: 4 });

    // The HPA controller acts on the HPA (no metrics server here: it cannot get CPU metrics).
    await waitFor(
      'the HPA controller to report on frontend-hpa',
      async () => {
        const a = (await hpaStates(admin))['frontend-hpa']?.active;
        return a !== null && a !== 'False/ScalingDisabled';
      },
      60_000,
    );
    const down = await run({ action: 'down', build: 'w1', customer: 'omega', environment: 'dev' });
    expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
    const phases = [
      Steps.suspendCronJobs,
      Steps.scaleDown,
      Steps.scaleStatefulSetsDown,
      Steps.stopDatabase,
      Steps.scaleNodegroupsDown,
    ];
    expect(phases.every((s) => down.path.includes(s))).toBe(true);
    expect(phases.map((s) => down.path.indexOf(s))).toEqual(
      [...phases.map((s) => down.path.indexOf(s))].sort((a, b) => a - b),
    );
    expect(await state()).toEqual({
      deployments: [0, 0],
      redis: 0,
      excluded: 1,
      suspend: { report: true, paused: true },
      keda: { 'backend-scaler': '0', 'redis-scaler': '0' },
    });
    expect((await pods(NS, 'debug-tools')).ready).toBe(1);
    for (const app of ['frontend-deployment', 'backend-deployment', 'redis'])
      expect((await pods(NS, app)).total, app).toBe(0);
    expect(await dbInstanceState('omega-dev-rds')).toBe('stopped');
    // The node group last: no node wanted, max kept (EKS requires maxSize >= 1).
    expect(await workers()).toEqual({ status: 'ACTIVE', minSize: 0, desiredSize: 0, maxSize: 4 });
    const pre = await json(`${P}/history/w1/pre-state.json`);
    expect(pre.k8s_statefulsets.redis).toMatchObject({ statefulset_replicas: 2, statefulset_exists: true });
    expect(pre.k8s_cronjobs.report.cronjob_suspend).toBe(false);
    expect(pre.k8s_cronjobs['paused-report'].cronjob_suspend).toBe(true);
    // Discovered: everything in the namespace but the excluded deployment.
    expect(Object.keys(pre.k8s_deployments).sort()).toEqual(['backend-deployment', 'frontend-deployment']);
    expect(Object.keys(pre.k8s_cronjobs).sort()).toEqual(['paused-report', 'report']);
    expect(pre.eks_nodegroups[WHOLE.nodegroup.name]).toEqual({
      nodegroup_cluster: 'eks-dev-cluster',
      nodegroup_exists: true,
      nodegroup_status: 'ACTIVE',
      min_size: 1,
      max_size: 4,
      desired_size: 2,
      // What the nodes are billed by (issue 18), from the DescribeNodegroup already made.
      instance_types: ['t3.medium'],
      capacity_type: 'ON_DEMAND',
    });
    expect(pre.k8s_hpas).toEqual({
      'frontend-hpa': {
        hpa_namespace: NS,
        hpa_target_kind: 'Deployment',
        hpa_target_name: 'frontend-deployment',
        hpa_min_replicas: 1,
        hpa_max_replicas: 3,
      },
    });
    // Kubernetes ignores the HPA while its target is at 0 (and does not scale it back up).
    await waitFor(
      'the HPA controller to disable frontend-hpa',
      async () => (await hpaStates(admin))['frontend-hpa']?.active === 'False/ScalingDisabled',
      60_000,
    );

    // The CronJob controller creates no Job across a scheduled tick while suspended.
    const jobs = await jobsOf('report');
    await pastNextTick(15_000);
    expect(await jobsOf('report')).toEqual(jobs);

    const up = await run({ action: 'up', build: 'w2', customer: 'omega', environment: 'dev' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(up.path.indexOf(Steps.restoreStatefulSets)).toBeLessThan(up.path.indexOf(Steps.restoreReplicas));
    // Node groups first: restored, then ACTIVE with their 2 nodes Ready, before the database.
    expect(up.path.indexOf(Steps.restoreNodegroups)).toBeGreaterThan(-1);
    expect(up.path.lastIndexOf(Steps.nodegroupsReady)).toBeLessThan(up.path.indexOf(Steps.startDatabase));
    expect(await workers()).toEqual({ status: 'ACTIVE', minSize: 1, desiredSize: 2, maxSize: 4 });
    expect(up.path.indexOf(Steps.checkHealth)).toBeLessThan(up.path.indexOf(Steps.resumeCronJobs));
    expect(await state()).toEqual(before);
    await waitForPods(NS, 'redis', { total: 2, ready: 2 });
    // up waited until the HPA controller acts on it again, bounds unchanged.
    expect(up.path.indexOf(Steps.checkAutoscalers)).toBeLessThan(up.path.indexOf(Steps.checkHealth));
    const hpa = (await hpaStates(admin))['frontend-hpa'];
    expect(hpa).toMatchObject({ min: 1, max: 3 });
    expect(hpa?.active).not.toBe('False/ScalingDisabled');
    expect(hpa?.active).not.toBe(null);

    // Resumed for real: the controller schedules it again at its next tick.
    await waitFor(
      'a Job of the resumed CronJob',
      async () => (await jobsOf('report')).length > jobs.length,
      90_000,
    );
    expect(await jobsOf('paused-report')).toEqual([]);
  }, 300_000);
});
