import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

// epsilon/dev discovers its workloads: every Deployment/StatefulSet/CronJob labelled
// tier=app in its namespace, minus the one annotated customer-infra-manager/exclude: "true".
const P = 'eks-dev-cluster/epsilon/dev';
const NS = 'epsilon-dev';
let w: World;
const app = { tier: 'app' };
beforeEach(() => {
  w = makeWorld();
  (w.config.environments as Record<string, unknown>)['epsilon/dev'] = {
    discover: { labelSelector: 'tier=app' },
  };
  w.kube
    .add(NS, 'frontend-deployment', 1)
    .add(NS, 'api', 2)
    .add(NS, 'debug', 1)
    .add(NS, 'unlabelled', 1)
    .addStatefulSet(NS, 'db', 1)
    .addCronJob(NS, 'nightly');
  for (const n of ['frontend-deployment', 'api', 'debug', 'db', 'nightly'])
    w.kube.labels.set(`${NS}/${n}`, app);
  w.kube.excluded.add(`${NS}/debug`);
});
afterEach(() => w.restore());

const run = (action: string, build: string) =>
  runWorkflow(w, { action, build, customer: 'epsilon', environment: 'dev' });
const counts = () => ({
  frontend: w.kube.replicas(NS, 'frontend-deployment'),
  api: w.kube.replicas(NS, 'api'),
  debug: w.kube.replicas(NS, 'debug'),
  unlabelled: w.kube.replicas(NS, 'unlabelled'),
  db: w.kube.statefulSets.get(`${NS}/db`)?.replicas,
  nightlySuspended: w.kube.cronJobs.get(`${NS}/nightly`)?.suspend,
});

describe('discovery', () => {
  it('down acts on what the rule finds and records exactly that; excluded and unmatched stay untouched', async () => {
    const r = await run('down', '40');
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(counts()).toEqual({
      frontend: 0,
      api: 0,
      debug: 1,
      unlabelled: 1,
      db: 0,
      nightlySuspended: true,
    });
    const pre = w.bucket.json(`${P}/history/40/pre-state.json`) as any;
    expect(Object.keys(pre.k8s_deployments).sort()).toEqual(['api', 'frontend-deployment']);
    expect(Object.keys(pre.k8s_statefulsets)).toEqual(['db']);
    expect(Object.keys(pre.k8s_cronjobs)).toEqual(['nightly']);
    // The configured health URL of a discovered deployment of the same name is kept.
    expect(pre.k8s_deployments['frontend-deployment'].app_url).toBe(
      'https://frontend-dev-epsilon.example.com/healthz',
    );
  });

  it('up restores exactly the restore point and reports what is new since as left alone', async () => {
    await run('down', '40');
    w.kube.add(NS, 'newcomer', 3);
    w.kube.labels.set(`${NS}/newcomer`, app);
    const r = await run('up', '41');
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(counts()).toEqual({
      frontend: 1,
      api: 2,
      debug: 1,
      unlabelled: 1,
      db: 1,
      nightlySuspended: false,
    });
    expect(w.kube.replicas(NS, 'newcomer')).toBe(3);
    expect((w.bucket.json(`${P}/actions.json`) as any).skipped).toEqual([
      {
        deployment: 'newcomer',
        reason: `Deployment ${NS}/newcomer is not in the restore point of build 40, left as it is`,
      },
    ]);
  });

  it('refuses a restore point that names a namespace outside the rule, changing nothing', async () => {
    await run('down', '40');
    const key = `${P}/history/40/pre-state.json`;
    const rec = w.bucket.json(key) as any;
    rec.k8s_deployments.api.deployment_namespace = 'kube-system';
    w.bucket.put(key, rec);
    const scaled = w.kube.scaled.length;
    const r = await run('up', '42');
    expect(r.error?.Error).toBe('StateRecordInvalid');
    expect(r.error?.Cause).toContain('outside discover.namespaces (epsilon-dev)');
    expect(w.kube.scaled.length).toBe(scaled);
  });

  it('restores a restore point that holds only StatefulSets and CronJobs (no deployment found)', async () => {
    (w.config.environments as Record<string, any>)['epsilon/dev'].discover.kinds = ['StatefulSet', 'CronJob'];
    const down = await run('down', '30');
    expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
    const pre = w.bucket.json(`${P}/history/30/pre-state.json`) as any;
    expect(pre.k8s_deployments).toEqual({});
    expect(Object.keys(pre.k8s_statefulsets)).toEqual(['db']);
    expect(counts()).toMatchObject({ frontend: 1, api: 2, db: 0, nightlySuspended: true });
    const up = await run('up', '31');
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(counts()).toMatchObject({ frontend: 1, api: 2, db: 1, nightlySuspended: false });
  });

  it('still refuses a restore point with no deployment and no other workload', async () => {
    expect((await run('down', '32')).status).toBe('SUCCEEDED');
    const key = `${P}/history/32/pre-state.json`;
    const rec = w.bucket.json(key) as any;
    rec.k8s_deployments = {};
    rec.k8s_statefulsets = {};
    rec.k8s_cronjobs = {};
    w.bucket.put(key, rec);
    const up = await run('up', '33');
    expect(up.error?.Error).toBe('StateRecordInvalid');
    expect(up.error?.Cause).toContain('it records no deployments');
    expect(counts()).toMatchObject({ frontend: 0, db: 0 });
  });

  it('refuses a down when the rule finds nothing, changing nothing', async () => {
    (w.config.environments as Record<string, any>)['epsilon/dev'].discover = { labelSelector: 'tier=none' };
    const r = await run('down', '43');
    expect(r.error?.Error).toBe('PreflightFailed');
    expect(r.error?.Cause).toContain(
      'discovery found no workload of epsilon/dev in namespace(s) epsilon-dev',
    );
    expect(w.kube.scaled).toEqual([]);
    expect(w.bucket.keys()).toEqual([]);
  });

  it('refuses a label selector with a syntax error when the configuration is read', () => {
    expect(() =>
      parseConfig(
        {
          defaults: { cluster: 'c', region: 'us-east-1', bucket: 'bucket-a', deployments: [{ name: 'web' }] },
          environments: { 'a/dev': { discover: { labelSelector: 'tier in (a,' } } },
        },
        'env.yaml',
      ),
    ).toThrow(/environments\["a\/dev"\]\.discover\.labelSelector: not a label selector/);
  });

  it('refuses a discovery kind it does not know', () => {
    expect(() =>
      parseConfig(
        {
          defaults: { cluster: 'c', region: 'us-east-1', bucket: 'bucket-a', deployments: [{ name: 'web' }] },
          environments: { 'a/dev': { discover: { kinds: ['DaemonSet'] } } },
        },
        'env.yaml',
      ),
    ).toThrow(/workload kind "DaemonSet" is not known: use Deployment, StatefulSet or CronJob/);
  });
});
