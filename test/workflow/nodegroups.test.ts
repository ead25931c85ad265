// EKS managed node groups on the workflow tier: EKS behind aws-sdk-client-mock (moto keeps a
// node group ACTIVE and validates nothing, so the status transitions are covered here), the
// nodes in the in-memory Kubernetes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CimError, ErrorNames } from '#core/errors';
import { Steps } from '#core/steps';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
const WORKERS = { minSize: 2, desiredSize: 3, maxSize: 5 };
let w: World;
beforeEach(() => {
  w = makeWorld();
  (w.config.environments as Record<string, unknown>)['alpha/dev'] = { nodegroups: ['alpha-workers'] };
  w.addNodegroup('eks-dev-cluster', 'alpha-workers', WORKERS);
});
afterEach(() => w.restore());

const run = (action: string, build: string) => runWorkflow(w, { action, build });
const scaling = () => w.nodegroups.get('eks-dev-cluster/alpha-workers')?.scaling;
const order = (path: string[], states: string[]) => states.map((s) => path.indexOf(s));
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('EKS node groups', () => {
  it('down records the scaling config and sets min 0 / desired 0 / max kept, after the database', async () => {
    const r = await run('down', '1');
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    const phases = order(r.path, [
      Steps.scaleDown,
      Steps.stopDatabase,
      Steps.scaleNodegroupsDown,
      Steps.recordResult,
    ]);
    expect(phases.every((i) => i >= 0)).toBe(true);
    expect(phases).toEqual(sorted(phases));
    expect(scaling()).toEqual({ minSize: 0, desiredSize: 0, maxSize: 5 });
    expect(w.eksCalls).toEqual([
      'UpdateNodegroupConfig alpha-workers {"minSize":0,"maxSize":5,"desiredSize":0}',
    ]);
    const pre = w.bucket.json(`${P}/history/1/pre-state.json`) as any;
    expect(pre.eks_nodegroups).toEqual({
      'alpha-workers': {
        nodegroup_cluster: 'eks-dev-cluster',
        nodegroup_exists: true,
        nodegroup_status: 'ACTIVE',
        min_size: 2,
        max_size: 5,
        desired_size: 3,
        // What its nodes are billed by (issue 18), from the same DescribeNodegroup.
        instance_types: ['m6i.large', 'm5.large'],
        capacity_type: 'ON_DEMAND',
      },
    });
    const post = w.bucket.json(`${P}/history/1/post-state.json`) as any;
    expect(post.eks_nodegroups['alpha-workers']).toMatchObject({ min_size: 0, desired_size: 0, max_size: 5 });
  });

  it('up restores them first and waits through UPDATING until ACTIVE with its nodes Ready, then the database', async () => {
    expect((await run('down', '2')).status).toBe('SUCCEEDED');
    const ng = w.nodegroups.get('eks-dev-cluster/alpha-workers');
    if (ng) ng.updatingReads = 2;
    w.kube.nodesReadyAfter = 1;
    const r = await run('up', '3');
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(scaling()).toEqual(WORKERS);
    const from = r.path.indexOf(Steps.restoreNodegroups);
    const db = r.path.indexOf(Steps.startDatabase);
    // Between them only the node groups' poll loop: it waited through UPDATING and for the nodes.
    const between = r.path.slice(from + 1, db);
    expect(new Set(between)).toEqual(
      new Set([Steps.checkNodegroupsReady, Steps.nodegroupsReady, Steps.waitNodegroupsReady]),
    );
    expect(between.filter((s) => s === Steps.waitNodegroupsReady).length).toBeGreaterThanOrEqual(2);
    expect(between.at(-1)).toBe(Steps.nodegroupsReady);
    expect(from).toBe(r.path.indexOf(Steps.whichAction) + 1);
    expect(w.eksCalls.at(-1)).toBe(
      'UpdateNodegroupConfig alpha-workers {"minSize":2,"maxSize":5,"desiredSize":3}',
    );
  });

  it('waits while the node group is DEGRADED and gives up at the timeout, naming its health issue', async () => {
    expect((await run('down', '4')).status).toBe('SUCCEEDED');
    const ng = w.nodegroups.get('eks-dev-cluster/alpha-workers');
    if (ng) {
      ng.status = 'DEGRADED';
      ng.issues = ['AsgInstanceLaunchFailures'];
    }
    const r = await run('up', '5');
    expect(r.error?.Error).toBe('WaitTimedOut');
    expect(r.error?.Cause).toContain('DEGRADED: AsgInstanceLaunchFailures');
    expect(r.path).not.toContain(Steps.startDatabase);
    // The update went through (EKS accepts one on a DEGRADED node group); nothing else started.
    expect(scaling()).toEqual(WORKERS);
    expect(w.rdsCalls).toEqual(['StopDBInstance']);
  });

  it('re-issues the change when the node group was busy with another update', async () => {
    const ng = w.nodegroups.get('eks-dev-cluster/alpha-workers');
    if (ng) {
      ng.status = 'UPDATING';
      ng.updatingReads = 3;
    }
    const r = await run('down', '6');
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(r.path.filter((s) => s === Steps.waitNodegroupsDown).length).toBeGreaterThan(0);
    expect(scaling()).toEqual({ minSize: 0, desiredSize: 0, maxSize: 5 });
  });

  it('refuses in preflight a node group that does not exist, changing nothing', async () => {
    (w.config.environments as Record<string, any>)['alpha/dev'].nodegroups = ['alpha-workers', 'ghost'];
    const r = await run('down', '7');
    expect(r.error?.Error).toBe('PreflightFailed');
    expect(r.error?.Cause).toContain('EKS node group eks-dev-cluster/ghost does not exist in us-east-1');
    expect(w.eksCalls).toEqual([]);
    expect(w.rdsCalls).toEqual([]);
    expect(w.kube.scaled).toEqual([]);
    expect(w.bucket.keys()).toEqual([]);
  });

  it('refuses in preflight when nodes cannot be listed (namespace-scoped access), changing nothing', async () => {
    w.kube.listNodes = async () => {
      throw new CimError(ErrorNames.KubernetesAccessDenied, 'listing nodes: access denied (HTTP 403)');
    };
    const r = await run('down', '8');
    expect(r.error?.Error).toBe('PreflightFailed');
    expect(r.error?.Cause).toContain(
      'cannot list nodes for nodegroups (listing nodes): bind the ClusterRole customer-infra-manager-node-reader',
    );
    expect(w.eksCalls).toEqual([]);
    expect(w.rdsCalls).toEqual([]);
    expect(w.kube.scaled).toEqual([]);
    expect(w.bucket.keys()).toEqual([]);
  });

  it('refuses in preflight a scaling config that breaks min ≤ desired ≤ max', async () => {
    const ng = w.nodegroups.get('eks-dev-cluster/alpha-workers');
    if (ng) ng.scaling = { minSize: 4, desiredSize: 3, maxSize: 5 };
    const r = await run('down', '8');
    expect(r.error?.Error).toBe('PreflightFailed');
    expect(r.error?.Cause).toContain('min ≤ desired ≤ max does not hold (min 4, desired 3, max 5)');
    expect(w.eksCalls).toEqual([]);
  });

  it('refuses a restore point whose node group config EKS would not accept', async () => {
    expect((await run('down', '9')).status).toBe('SUCCEEDED');
    const key = `${P}/history/9/pre-state.json`;
    const rec = w.bucket.json(key) as any;
    rec.eks_nodegroups['alpha-workers'].max_size = 0;
    w.bucket.put(key, rec);
    const r = await run('up', '10');
    expect(r.error?.Error).toBe('StateRecordInvalid');
    expect(r.error?.Cause).toContain('maxSize must be at least 1');
    expect(scaling()).toEqual({ minSize: 0, desiredSize: 0, maxSize: 5 });
  });

  it('leaves a node group changed while down as it is, and says so', async () => {
    expect((await run('down', '11')).status).toBe('SUCCEEDED');
    const ng = w.nodegroups.get('eks-dev-cluster/alpha-workers');
    if (ng) ng.scaling = { minSize: 1, desiredSize: 1, maxSize: 5 };
    const r = await run('up', '12');
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(scaling()).toEqual({ minSize: 1, desiredSize: 1, maxSize: 5 });
    expect((r.output as any).skipped).toEqual([
      {
        deployment: 'alpha-workers',
        reason:
          'node group eks-dev-cluster/alpha-workers changed while down (now min 1, desired 1, max 5, recorded min 2, desired 3, max 5); left as it is',
      },
    ]);
  });

  it('plans the node groups in a dry run, last on down and first on up, changing nothing', async () => {
    const d = await runWorkflow(w, { action: 'down', build: '13', dryRun: true });
    expect(d.status, JSON.stringify(d.error)).toBe('SUCCEEDED');
    const plan = (d.output as any).plan as { kind: string }[];
    expect(plan.at(-1)).toEqual({
      kind: 'nodegroup',
      cluster: 'eks-dev-cluster',
      name: 'alpha-workers',
      from: { minSize: 2, maxSize: 5, desiredSize: 3 },
      to: { minSize: 0, desiredSize: 0, maxSize: 5 },
    });
    expect(plan.at(-2)?.kind).toBe('database');
    expect(w.eksCalls).toEqual([]);
    expect((await run('down', '14')).status).toBe('SUCCEEDED');
    const u = await runWorkflow(w, { action: 'up', build: '15', dryRun: true });
    const upPlan = (u.output as any).plan as { kind: string; to?: unknown }[];
    expect(upPlan[0]).toMatchObject({ kind: 'nodegroup', to: WORKERS });
    expect(upPlan[1]?.kind).toBe('database');
    expect(scaling()).toEqual({ minSize: 0, desiredSize: 0, maxSize: 5 });
  });
});
