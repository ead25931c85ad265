// Issue 19 item 4 through the real definition on the local engine, with the in-memory
// Kubernetes: an environment with sleepingBackend has its Ingresses pointed at the wake page
// on down and restored exactly as recorded on up; one changed while asleep is reported and
// left alone; an environment without it takes the states it always took.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderPlan } from '#cli/output/printer';
import { SLEEPING_ANNOTATION } from '#core/ingresses/rules';
import { changedWhileDown } from '#core/report/drift';
import type { DryRunPlan } from '#core/run/plan';
import { Steps } from '#core/steps';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
const NS = 'alpha-dev';
const WAKE = { service: { name: 'wake', port: { number: 8080 } } };

const WEB = {
  ingressClassName: 'nginx',
  defaultBackend: { service: { name: 'frontend', port: { name: 'http' } } },
  tls: [{ hosts: ['dev.alpha.example.com'], secretName: 'alpha-tls' }],
  rules: [
    {
      host: 'dev.alpha.example.com',
      http: {
        paths: [
          { path: '/', pathType: 'Prefix', backend: { service: { name: 'frontend', port: { number: 80 } } } },
          {
            path: '/api',
            pathType: 'Prefix',
            backend: { service: { name: 'backend', port: { number: 8080 } } },
          },
        ],
      },
    },
  ],
};
const API = {
  rules: [
    {
      host: 'api.alpha.example.com',
      http: {
        paths: [
          {
            path: '/',
            pathType: 'ImplementationSpecific',
            backend: { resource: { apiGroup: 'k8s.example.com', kind: 'Bucket', name: 'static' } },
          },
        ],
      },
    },
  ],
};
const WEB_ANNOTATIONS = { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' };

let w: World;
beforeEach(() => {
  w = makeWorld();
  (w.config.environments as Record<string, unknown>)['alpha/dev'] = {
    sleepingBackend: { service: 'wake', port: 8080 },
  };
  w.kube.addIngress(NS, 'web', WEB, WEB_ANNOTATIONS).addIngress(NS, 'api', API);
});
afterEach(() => w.restore());

const run = (action: string, build: string) => runWorkflow(w, { action, build });
const ingress = (name: string) => w.kube.ingresses.get(`${NS}/${name}`);
const summaryOf = (r: { output: unknown }) => r.output as Record<string, any>;

async function ok(action: string, build: string) {
  const r = await run(action, build);
  expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
  return r;
}

describe('down of an environment with sleepingBackend', () => {
  it('records every Ingress in the pre-state and points it at the sleeping backend before anything stops', async () => {
    const r = await ok('down', 'd1');
    expect(r.path.slice(r.path.indexOf(Steps.whichAction), r.path.indexOf(Steps.whichAction) + 3)).toEqual([
      Steps.whichAction,
      Steps.pointIngresses,
      Steps.suspendCronJobs,
    ]);
    expect(w.kube.log.indexOf(`point ingress ${NS}/web`)).toBeLessThan(
      w.kube.log.findIndex((l) => l.startsWith('scale deployment')),
    );
    const pre = w.bucket.json(`${P}/history/d1/pre-state.json`) as Record<string, any>;
    expect(pre.k8s_ingresses).toEqual({
      [`${NS}/web`]: {
        ingress_namespace: NS,
        ingress_name: 'web',
        ingress_spec: WEB,
        ingress_pointed: false,
      },
      [`${NS}/api`]: {
        ingress_namespace: NS,
        ingress_name: 'api',
        ingress_spec: API,
        ingress_pointed: false,
      },
    });
    const web = ingress('web');
    expect(web?.spec).toEqual({
      ...WEB,
      defaultBackend: WAKE,
      rules: [
        {
          host: 'dev.alpha.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: WAKE },
              { path: '/api', pathType: 'Prefix', backend: WAKE },
            ],
          },
        },
      ],
    });
    expect(web?.annotations).toMatchObject(WEB_ANNOTATIONS);
    expect(web?.annotations[SLEEPING_ANNOTATION]).toMatch(/^v1;wake:8080;[0-9a-f]{32}$/);
    // No defaultBackend before: none added (hosts of other Ingresses are not taken over).
    expect(ingress('api')?.spec).toEqual({
      rules: [
        {
          host: 'api.alpha.example.com',
          http: { paths: [{ path: '/', pathType: 'ImplementationSpecific', backend: WAKE }] },
        },
      ],
    });
  });

  it('a second down while asleep changes no Ingress and keeps the first down as the restore point', async () => {
    await ok('down', 'd1');
    const after = structuredClone([ingress('web'), ingress('api')]);
    const again = await run('down', 'd2');
    // Refused as already down, or run without pointing anything again.
    if (again.status === 'SUCCEEDED') expect(again.path).not.toContain(Steps.pointIngresses);
    expect([ingress('web'), ingress('api')]).toEqual(after);
    await ok('up', 'u1');
    expect(ingress('web')?.spec).toEqual(WEB);
  });

  it('takes exactly the states it took when the environment does not opt in', async () => {
    (w.config.environments as Record<string, unknown>)['alpha/dev'] = {};
    const r = await ok('down', 'd1');
    expect(r.path).not.toContain(Steps.pointIngresses);
    expect(ingress('web')?.spec).toEqual(WEB);
    expect(ingress('web')?.resourceVersion).toBe(1);
    expect(
      (w.bucket.json(`${P}/history/d1/pre-state.json`) as Record<string, any>).k8s_ingresses,
    ).toBeUndefined();
    const up = await ok('up', 'u1');
    expect(up.path).not.toContain(Steps.restoreIngresses);
  });

  it('leaves an Ingress too large to record as it is and reports it', async () => {
    const big = { ...API, rules: [{ host: `${'x'.repeat(9_000)}.example.com` }] };
    w.kube.addIngress(NS, 'huge', big);
    const r = await ok('down', 'd1');
    expect(ingress('huge')?.spec).toEqual(big);
    expect(ingress('huge')?.annotations).toEqual({});
    expect(summaryOf(r).skipped).toContainEqual(
      expect.objectContaining({ deployment: `${NS}/huge`, kind: 'Ingress' }),
    );
    expect(Object.keys((w.bucket.json(`${P}/history/d1/pre-state.json`) as any).k8s_ingresses)).not.toContain(
      `${NS}/huge`,
    );
  });
});

describe('up of an environment with sleepingBackend', () => {
  it('restores every Ingress to its recorded spec after the workloads are ready and before the health checks', async () => {
    await ok('down', 'd1');
    let restoredAtFirstCheck: boolean | undefined;
    const check = w.deps.health.check.bind(w.deps.health);
    w.deps.health.check = async (url, timeout) => {
      restoredAtFirstCheck ??= JSON.stringify(ingress('web')?.spec) === JSON.stringify(WEB);
      return check(url, timeout);
    };
    const r = await ok('up', 'u1');
    const at = (s: string) => r.path.indexOf(s);
    expect(at(Steps.restoreIngresses)).toBeGreaterThan(r.path.lastIndexOf(Steps.deploymentsAvailable));
    expect(at(Steps.restoreIngresses)).toBeLessThan(at(Steps.checkHealth));
    expect(restoredAtFirstCheck).toBe(true);
    // Byte for byte: the same JSON, and the annotations as they were (ours gone).
    expect(JSON.stringify(ingress('web')?.spec)).toBe(JSON.stringify(WEB));
    expect(ingress('web')?.annotations).toEqual(WEB_ANNOTATIONS);
    expect(JSON.stringify(ingress('api')?.spec)).toBe(JSON.stringify(API));
    expect(ingress('api')?.annotations).toEqual({});
    expect(summaryOf(r).skipped).toEqual([]);
  });

  it('restores them even when the environment no longer opts in: they would still point at the wake page', async () => {
    await ok('down', 'd1');
    (w.config.environments as Record<string, unknown>)['alpha/dev'] = {};
    const r = await ok('up', 'u1');
    expect(r.path).toContain(Steps.restoreIngresses);
    expect(JSON.stringify(ingress('web')?.spec)).toBe(JSON.stringify(WEB));
    expect(ingress('web')?.annotations).toEqual(WEB_ANNOTATIONS);
  });

  it('reports an Ingress changed while asleep and leaves it exactly as it was changed', async () => {
    await ok('down', 'd1');
    const edited = { ...(ingress('web')?.spec as object), ingressClassName: 'traefik' };
    w.kube.editIngress(NS, 'web', { spec: edited });
    const annotations = { ...ingress('web')?.annotations };
    const r = await ok('up', 'u1');
    expect(ingress('web')?.spec).toEqual(edited);
    expect(ingress('web')?.annotations).toEqual(annotations);
    expect(JSON.stringify(ingress('api')?.spec)).toBe(JSON.stringify(API));
    expect(summaryOf(r).skipped).toEqual([
      {
        deployment: `${NS}/web`,
        kind: 'Ingress',
        reason: `Ingress ${NS}/web changed since the down of build d1 pointed it at the sleeping backend: left as it is`,
      },
    ]);
    // The fleet report shows it as drift, like a workload changed while down.
    expect(changedWhileDown(summaryOf(r).skipped[0].reason)).toBe(true);
    expect((w.bucket.json(`${P}/actions.json`) as Record<string, any>).skipped).toContainEqual(
      expect.objectContaining({
        deployment: `${NS}/web`,
        reason: expect.stringContaining('changed since the down of build d1'),
      }),
    );
  });

  it('reports an Ingress whose marker was removed while asleep, and one deleted, and restores the others', async () => {
    await ok('down', 'd1');
    w.kube.editIngress(NS, 'web', { annotations: WEB_ANNOTATIONS });
    w.kube.ingresses.delete(`${NS}/api`);
    const r = await ok('up', 'u1');
    expect(ingress('web')?.spec).not.toEqual(WEB);
    expect(summaryOf(r).skipped.map((s: any) => s.deployment)).toEqual([`${NS}/api`, `${NS}/web`]);
  });

  it('is safe to run again: each Ingress Task run twice on the same input (a retry after it succeeded) changes nothing more', async () => {
    const twice = {
      wrapTask: (state: string, fn: (e: unknown) => Promise<unknown>) => async (e: unknown) => {
        if (state !== Steps.pointIngresses && state !== Steps.restoreIngresses) return fn(e);
        await fn(e);
        const before = w.kube.log.length;
        const out = await fn(e);
        expect(w.kube.log.slice(before), `${state} again`).toEqual([]);
        return out;
      },
    };
    const down = await runWorkflow(w, { action: 'down', build: 'd1' }, twice);
    expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
    expect(summaryOf(down).skipped).toEqual([]);
    const up = await runWorkflow(w, { action: 'up', build: 'u1' }, twice);
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(summaryOf(up).skipped).toEqual([]);
    expect(JSON.stringify(ingress('web')?.spec)).toBe(JSON.stringify(WEB));
    expect(ingress('web')?.annotations).toEqual(WEB_ANNOTATIONS);
  });
});

describe('an up restoring the counts of an older build (--restore-from-build)', () => {
  it('gives each Ingress back the spec recorded by the last down, the one that pointed it', async () => {
    await ok('down', 'd1');
    await ok('up', 'u1');
    // A deploy changes the Ingress while up: the next down records and points this spec.
    const deployed = { ...WEB, ingressClassName: 'traefik' };
    w.kube.editIngress(NS, 'web', { spec: deployed });
    await ok('down', 'd2');
    expect(ingress('web')?.annotations[SLEEPING_ANNOTATION]).toBeDefined();
    const plan = await runWorkflow(w, { action: 'up', build: 'p1', restoreFromBuild: 'd1', dryRun: true });
    expect(renderPlan(plan.output as DryRunPlan)).toContain(
      `Ingress ${NS}/web: give back its spec recorded by build d2 (if still as the down left it)`,
    );
    const r = await runWorkflow(w, { action: 'up', build: 'u2', restoreFromBuild: 'd1' });
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(JSON.stringify(ingress('web')?.spec)).toBe(JSON.stringify(deployed));
    expect(ingress('web')?.annotations).toEqual(WEB_ANNOTATIONS);
    expect(JSON.stringify(ingress('api')?.spec)).toBe(JSON.stringify(API));
    expect(ingress('api')?.annotations).toEqual({});
    expect(summaryOf(r).skipped).toEqual([]);
  });

  it('reports an Ingress changed since the last down by that down, not by the chosen build', async () => {
    await ok('down', 'd1');
    await ok('up', 'u1');
    await ok('down', 'd2');
    const edited = { ...(ingress('web')?.spec as object), ingressClassName: 'traefik' };
    w.kube.editIngress(NS, 'web', { spec: edited });
    const r = await runWorkflow(w, { action: 'up', build: 'u2', restoreFromBuild: 'd1' });
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(ingress('web')?.spec).toEqual(edited);
    expect(summaryOf(r).skipped).toEqual([
      {
        deployment: `${NS}/web`,
        kind: 'Ingress',
        reason: `Ingress ${NS}/web changed since the down of build d2 pointed it at the sleeping backend: left as it is`,
      },
    ]);
  });
});

describe("an up restoring another build when the last down's pre-state is lost or untrusted", () => {
  const downTwice = async () => {
    await ok('down', 'd1');
    await ok('up', 'u1');
    await ok('down', 'd2');
  };

  it('restores the chosen counts and reports the Ingresses it cannot give back when that pre-state is missing', async () => {
    await downTwice();
    w.bucket.objects.delete(`${P}/history/d2/pre-state.json`);
    const r = await runWorkflow(w, { action: 'up', build: 'u2', restoreFromBuild: 'd1' });
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(r.path).not.toContain(Steps.restoreIngresses);
    expect(ingress('web')?.annotations[SLEEPING_ANNOTATION]).toBeDefined();
    expect(summaryOf(r).skipped).toEqual([
      expect.objectContaining({
        kind: 'Ingress',
        reason: expect.stringContaining('build d2 (the last down)'),
      }),
    ]);
  });

  it('is refused, nothing changed, when that pre-state records Ingresses outside the environment', async () => {
    await downTwice();
    const key = `${P}/history/d2/pre-state.json`;
    const pre = structuredClone(w.bucket.json(key)) as Record<string, any>;
    const web = pre.k8s_ingresses[`${NS}/web`];
    pre.k8s_ingresses = { 'kube-system/web': { ...web, ingress_namespace: 'kube-system' } };
    w.bucket.put(key, pre);
    const before = structuredClone(ingress('web'));
    const r = await runWorkflow(w, { action: 'up', build: 'u2', restoreFromBuild: 'd1' });
    expect(r.status).toBe('FAILED');
    expect(JSON.stringify(r.error)).toContain('StateRecordInvalid');
    expect(JSON.stringify(r.error)).toContain('of build d2 (the last down, which pointed the Ingresses)');
    expect(ingress('web')).toEqual(before);
  });
});

describe('an Ingress changed during the down', () => {
  it('is left as it is and reported, since its record would no longer be what it is', async () => {
    const changed = { ...WEB, ingressClassName: 'traefik' };
    const r = await runWorkflow(
      w,
      { action: 'down', build: 'd1' },
      {
        wrapTask: (state, fn) => async (e) => {
          if (state === Steps.pointIngresses) w.kube.editIngress(NS, 'web', { spec: changed });
          return fn(e);
        },
      },
    );
    expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    expect(ingress('web')?.spec).toEqual(changed);
    expect(ingress('web')?.annotations).toEqual(WEB_ANNOTATIONS);
    expect(ingress('api')?.annotations[SLEEPING_ANNOTATION]).toBeDefined();
    expect(summaryOf(r).skipped).toEqual([
      {
        deployment: `${NS}/web`,
        kind: 'Ingress',
        reason: `Ingress ${NS}/web changed after the run recorded it: left as it is, not pointed at the sleeping backend`,
      },
    ]);
    // The up then finds it not pointed and not as recorded: reported, left alone.
    const up = await ok('up', 'u1');
    expect(ingress('web')?.spec).toEqual(changed);
    expect(summaryOf(up).skipped.map((s: any) => s.deployment)).toEqual([`${NS}/web`]);
  });
});

describe('a dry run', () => {
  it('lists the Ingresses a down would point and an up would give back, and changes none', async () => {
    const plan = async (action: string, build: string) => {
      const r = await runWorkflow(w, { action, build, dryRun: true });
      expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
      return renderPlan(r.output as DryRunPlan);
    };
    expect(await plan('down', 'p1')).toEqual(
      expect.arrayContaining([
        `Ingress ${NS}/api: record its spec and point its backends at wake:8080`,
        `Ingress ${NS}/web: record its spec and point its backends at wake:8080`,
      ]),
    );
    expect(ingress('web')?.resourceVersion).toBe(1);
    await ok('down', 'd1');
    const up = await plan('up', 'p2');
    const at = (l: string) => up.indexOf(l);
    const web = `Ingress ${NS}/web: give back its spec recorded by build d1 (if still as the down left it)`;
    expect(at(web)).toBeGreaterThan(at('wait until the deployments have exactly their new counts'));
    expect(at(web)).toBeLessThan(at('wait until the health URLs answer'));
  });
});
