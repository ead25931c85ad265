// Issue 19 item 4 on a real kube-apiserver (networking.k8s.io/v1 Ingress is served without any
// controller): alpha/dev opted in to sleepingBackend has its Ingresses pointed at the sleeping
// Service by the real handlers on down, through the orchestrator's identity with the Role
// `cim rbac` prints for an opted-in namespace, and given back on up exactly as the API server
// held them: the same spec JSON and the same annotations apart from ours.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runLocal } from '#cli/engine/local-environment';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { kubeJson } from '#core/clients/kubernetes-ingresses';
import { loadConfigFile } from '#core/config/file';
import { namespaceRbac, WRITER_ROLE } from '#core/config/rbac';
import { SLEEPING_ANNOTATION } from '#core/ingresses/rules';
import { Steps } from '#core/steps';
import { makeDeps } from '#core/wiring';
import { resetSandbox } from '../../sandbox/sandbox.ts';
import { synthesizedDefinition } from '../support/synthesized.ts';
import { json, sandbox } from './peers.ts';

const NS = 'alpha-dev';
const P = 'eks-dev-cluster/alpha/dev';
const BASE = `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses`;
const admin = new KubeConfig();
admin.loadFromFile(sandbox.adminKubeconfig);
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
const core = admin.makeApiClient(CoreV1Api);

type Ingress = {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
};

const WEB = {
  metadata: {
    name: 'web',
    annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m', 'example.com/owner': 'team-a' },
  },
  spec: {
    ingressClassName: 'nginx',
    defaultBackend: { service: { name: 'frontend-deployment', port: { name: 'http' } } },
    tls: [{ hosts: ['dev.alpha.example.com'], secretName: 'alpha-tls' }],
    rules: [
      {
        host: 'dev.alpha.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'frontend-deployment', port: { number: 80 } } },
            },
            {
              path: '/api',
              pathType: 'ImplementationSpecific',
              backend: { service: { name: 'backend-deployment', port: { number: 8080 } } },
            },
          ],
        },
      },
      { host: 'static.alpha.example.com' },
    ],
  },
};
// No annotations at all: the up must not leave an empty map behind.
const BARE = {
  metadata: { name: 'bare' },
  spec: {
    rules: [
      {
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Exact',
              backend: { resource: { apiGroup: 'k8s.example.com', kind: 'Bucket', name: 'static' } },
            },
          ],
        },
      },
    ],
  },
};

const read = async (name: string) => (await kubeJson(admin, 'GET', `${BASE}/${name}`)) as Ingress;
const withoutOurs = (a: Record<string, string> | undefined) => {
  const { [SLEEPING_ANNOTATION]: _, ...rest } = a ?? {};
  return a === undefined ? undefined : rest;
};

let config: ReturnType<typeof loadConfigFile>;
let configSource: string;
let definition: Record<string, unknown>;

async function run(action: 'up' | 'down', build: string) {
  const deps = makeDeps({
    config,
    configSource,
    kube: kubeconfigKube(config, sandbox.orchestratorKubeconfig),
    log: { info: () => undefined, warn: () => undefined },
  });
  return runLocal({
    deps,
    definition,
    input: { action, build, customer: 'alpha', environment: 'dev', user: 'jenkins-user' },
  });
}

async function setWriterRole(ingresses: boolean) {
  const role = namespaceRbac(NS, { ingresses }).find(
    (m) => m.kind === 'Role' && (m.metadata as any).name === WRITER_ROLE,
  );
  await rbac.replaceNamespacedRole({ name: WRITER_ROLE, namespace: NS, body: role as never });
}

beforeAll(async () => {
  // The sandbox's configuration with alpha/dev opted in.
  const doc = parse(readFileSync(sandbox.configFile, 'utf8')) as Record<string, any>;
  doc.environments['alpha/dev'] = { sleepingBackend: { service: 'wake-page', port: 80 } };
  configSource = join(mkdtempSync(join(tmpdir(), 'cim-ingress-')), 'environments.yaml');
  writeFileSync(configSource, stringify(doc));
  config = loadConfigFile(configSource);
  definition = synthesizedDefinition();
  await setWriterRole(true);
  // The shared wake page, as documented: an ExternalName Service in the namespace.
  await core
    .createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'wake-page' },
        spec: { type: 'ExternalName', externalName: 'wake.example.com' },
      },
    })
    .catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
}, 180_000);

afterAll(async () => {
  await core.deleteNamespacedService({ name: 'wake-page', namespace: NS }).catch(() => undefined);
  await setWriterRole(false);
});

beforeEach(async () => {
  await resetSandbox(sandbox);
}, 180_000);

describe('Ingresses on a real API server (alpha/dev with sleepingBackend)', () => {
  it('down points every Ingress at the sleeping backend; up gives back the spec and the annotations exactly', async () => {
    const { NetworkingV1Api } = await import('@kubernetes/client-node');
    const networking = admin.makeApiClient(NetworkingV1Api);
    for (const body of [WEB, BARE])
      await networking.createNamespacedIngress({ namespace: NS, body: body as never });
    try {
      // As the API server holds them (with its defaults), before anything.
      const before = { web: await read('web'), bare: await read('bare') };

      const down = await run('down', 'ing1');
      expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
      expect(down.path).toContain(Steps.pointIngresses);
      const wake = { service: { name: 'wake-page', port: { number: 80 } } };
      const web = await read('web');
      expect(web.spec.defaultBackend).toEqual(wake);
      const rules = web.spec.rules as {
        host?: string;
        http?: { paths: { path: string; backend: unknown }[] };
      }[];
      expect(rules[0]?.http?.paths.map((p) => [p.path, p.backend])).toEqual([
        ['/', wake],
        ['/api', wake],
      ]);
      expect(rules[1]).toEqual({ host: 'static.alpha.example.com' });
      expect(web.spec.tls).toEqual(before.web.spec.tls);
      expect(web.metadata.annotations?.[SLEEPING_ANNOTATION]).toMatch(/^v1;wake-page:80;[0-9a-f]{32}$/);
      const bare = await read('bare');
      expect(bare.spec).not.toHaveProperty('defaultBackend');
      expect((bare.spec.rules as any)[0].http.paths[0].backend).toEqual(wake);
      // The pre-state holds them exactly as they were.
      const pre = (await json(`${P}/history/ing1/pre-state.json`)) as Record<string, any>;
      expect(pre.k8s_ingresses[`${NS}/web`].ingress_spec).toEqual(before.web.spec);
      expect(pre.k8s_ingresses[`${NS}/bare`].ingress_spec).toEqual(before.bare.spec);

      const up = await run('up', 'ing2');
      expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
      expect(up.path.indexOf(Steps.restoreIngresses)).toBeLessThan(up.path.indexOf(Steps.checkHealth));
      for (const name of ['web', 'bare'] as const) {
        const now = await read(name);
        expect(now.spec, `${name}: spec`).toEqual(before[name].spec);
        expect(JSON.stringify(now.spec), `${name}: spec byte for byte`).toBe(
          JSON.stringify(before[name].spec),
        );
        expect(withoutOurs(now.metadata.annotations), `${name}: annotations`).toEqual(
          before[name].metadata.annotations,
        );
        expect(now.metadata.annotations?.[SLEEPING_ANNOTATION], `${name}: ours gone`).toBeUndefined();
      }
    } finally {
      for (const name of ['web', 'bare'])
        await networking.deleteNamespacedIngress({ name, namespace: NS }).catch(() => undefined);
    }
  }, 300_000);
});
