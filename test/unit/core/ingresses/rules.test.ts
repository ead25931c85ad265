import { describe, expect, it } from 'vitest';
import { ingressPatch } from '#core/clients/kubernetes-ingresses';
import { clusterRbac, INGRESS_WRITER_RULE, namespaceRbac, READER_ROLE, WRITER_ROLE } from '#core/config/rbac';
import type { Environment } from '#core/config/schema';
import type { IngressObject } from '#core/gateways/ingresses';
import {
  asDownLeft,
  canonical,
  type IngressState,
  ingressPhase,
  MAX_INGRESS_SPEC_BYTES,
  MAX_INGRESSES,
  marker,
  parseMarker,
  pointedSpec,
  SLEEPING_ANNOTATION,
  withinBounds,
} from '#core/ingresses/rules';

const BACKEND = { service: 'wake', port: 8080 };
const WAKE = { service: { name: 'wake', port: { number: 8080 } } };
const SPEC = {
  ingressClassName: 'nginx',
  defaultBackend: { resource: { apiGroup: 'k8s.example.com', kind: 'Bucket', name: 'static' } },
  tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }],
  rules: [
    {
      host: 'a.example.com',
      http: {
        paths: [
          { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
        ],
      },
    },
    { host: 'no-http.example.com' },
  ],
};

const object = (spec: Record<string, unknown>, annotations: Record<string, string> = {}): IngressObject => ({
  name: 'web',
  namespace: 'alpha-dev',
  resourceVersion: '7',
  annotations,
  spec,
});

describe('pointing a spec at the sleeping backend', () => {
  it('points every rule path and the defaultBackend, and keeps hosts, TLS, class and host-only rules', () => {
    expect(pointedSpec(SPEC, BACKEND)).toEqual({
      ...SPEC,
      defaultBackend: WAKE,
      rules: [
        { host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: WAKE }] } },
        { host: 'no-http.example.com' },
      ],
    });
  });

  it('adds no defaultBackend to a spec without one, and leaves the recorded spec untouched', () => {
    const { defaultBackend: _, ...noDefault } = SPEC;
    const before = JSON.stringify(noDefault);
    expect(pointedSpec(noDefault, BACKEND)).not.toHaveProperty('defaultBackend');
    expect(JSON.stringify(noDefault)).toBe(before);
  });
});

describe('the marker annotation', () => {
  it('names the backend and the recorded spec, and reads back', () => {
    const m = marker(SPEC, BACKEND);
    expect(m).toMatch(/^v1;wake:8080;[0-9a-f]{32}$/);
    expect(parseMarker(m)?.backend).toEqual(BACKEND);
    // Key order does not matter: the digest is of canonical JSON.
    expect(marker(JSON.parse(canonical(SPEC)), BACKEND)).toBe(m);
  });

  it.each(
    ['', 'v1;wake:0;', 'v1;wake:99999;', 'v2;wake:80;', 'v1;Wake:80;'].map((p) =>
      p ? `${p}${'a'.repeat(32)}` : p,
    ),
  )('reads %j as no marker of this version', (v) => expect(parseMarker(v)).toBeNull());

  it('says an Ingress is as the down left it only with its marker and exactly the pointed spec', () => {
    const left = object(pointedSpec(SPEC, BACKEND), { [SLEEPING_ANNOTATION]: marker(SPEC, BACKEND) });
    expect(asDownLeft(left, SPEC)).toBe(true);
    // The backend the down used, not the one configured now.
    const other = { service: 'other-wake', port: 80 };
    expect(
      asDownLeft(object(pointedSpec(SPEC, other), { [SLEEPING_ANNOTATION]: marker(SPEC, other) }), SPEC),
    ).toBe(true);
    // Changed while asleep.
    expect(asDownLeft({ ...left, spec: { ...left.spec, ingressClassName: 'traefik' } }, SPEC)).toBe(false);
    // Pointed by a down that recorded another spec (a later down of a changed Ingress).
    expect(asDownLeft(left, { ...SPEC, ingressClassName: 'traefik' })).toBe(false);
    // Marker removed.
    expect(asDownLeft({ ...left, annotations: {} }, SPEC)).toBe(false);
  });
});

describe('bounds of what a down records', () => {
  const state = (name: string, spec: Record<string, unknown>): IngressState => ({
    name,
    namespace: 'ns',
    spec,
    pointed: false,
  });

  it('keeps the specs within bounds and reports the others', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(13)}{}${'}'.repeat(13)}`) as Record<string, unknown>;
    const { kept, skipped } = withinBounds([
      state('ok', SPEC),
      state('big', { rules: [{ host: 'x'.repeat(MAX_INGRESS_SPEC_BYTES) }] }),
      state('deep', deep),
    ]);
    expect(kept.map((i) => i.name)).toEqual(['ok']);
    expect(skipped.map((s) => [s.deployment, s.kind])).toEqual([
      ['ns/big', 'Ingress'],
      ['ns/deep', 'Ingress'],
    ]);
    expect(skipped[0]?.reason).toMatch(
      /Ingress ns\/big has a spec of \d+ bytes, above the 8192 a record holds: left as it is/,
    );
    expect(skipped[1]?.reason).toMatch(/nested deeper than the 12 levels/);
  });

  it(`records at most ${MAX_INGRESSES} Ingresses and at most 64 KiB of specs`, () => {
    const many = Array.from({ length: MAX_INGRESSES + 2 }, (_, i) =>
      state(`i${String(i).padStart(3, '0')}`, { rules: [] }),
    );
    expect(withinBounds(many).kept).toHaveLength(MAX_INGRESSES);
    const large = Array.from({ length: 10 }, (_, i) =>
      state(`l${i}`, { rules: [{ host: 'x'.repeat(8_000) }] }),
    );
    const r = withinBounds(large);
    expect(r.kept).toHaveLength(8);
    expect(r.skipped[0]?.reason).toMatch(/would take the recorded Ingress specs above 65536 bytes/);
  });

  it('runs the Ingress Tasks only when there is something to point or restore', () => {
    const pointed = { ...state('p', SPEC), pointed: true };
    expect(ingressPhase('down', { ingresses: [state('a', SPEC)] }, null)).toBe(true);
    expect(ingressPhase('down', { ingresses: [pointed] }, null)).toBe(false);
    expect(ingressPhase('down', {}, null)).toBe(false);
    expect(ingressPhase('up', {}, { ingresses: [pointed] })).toBe(true);
    expect(ingressPhase('up', {}, {})).toBe(false);
    expect(ingressPhase('get_env_state', { ingresses: [state('a', SPEC)] }, null)).toBe(false);
  });
});

describe('the JSON Patch that replaces a spec', () => {
  it('is refused unless the object is still at the version read, and adds the annotation map when there is none', () => {
    expect(ingressPatch(object(SPEC), { rules: [] }, { key: SLEEPING_ANNOTATION, value: 'v' })).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'replace', path: '/spec', value: { rules: [] } },
      { op: 'add', path: '/metadata/annotations', value: { [SLEEPING_ANNOTATION]: 'v' } },
    ]);
  });

  it('escapes the "/" of the annotation key, and removes the map with its last key', () => {
    const others = { 'nginx.ingress.kubernetes.io/rewrite-target': '/' };
    expect(ingressPatch(object(SPEC, others), SPEC, { key: SLEEPING_ANNOTATION, value: 'v' })[2]).toEqual({
      op: 'add',
      path: '/metadata/annotations/customer-infra-manager~1sleeping-backend',
      value: 'v',
    });
    expect(
      ingressPatch(object(SPEC, { ...others, [SLEEPING_ANNOTATION]: 'v' }), SPEC, {
        key: SLEEPING_ANNOTATION,
        value: null,
      })[2],
    ).toEqual({ op: 'remove', path: '/metadata/annotations/customer-infra-manager~1sleeping-backend' });
    expect(
      ingressPatch(object(SPEC, { [SLEEPING_ANNOTATION]: 'v' }), SPEC, {
        key: SLEEPING_ANNOTATION,
        value: null,
      })[2],
    ).toEqual({
      op: 'remove',
      path: '/metadata/annotations',
    });
  });
});

describe('Kubernetes access for Ingresses', () => {
  const env = (over: Partial<Environment>): Environment =>
    ({
      customer: 'alpha',
      environment: 'dev',
      cluster: 'c1',
      namespace: 'alpha-dev',
      deployments: [{ name: 'web', namespace: 'alpha-dev', healthUrl: null }],
      workloads: [],
      nodegroups: [],
      discover: null,
      sleepingBackend: null,
      ...over,
    }) as Environment;
  const rules = (manifests: Record<string, any>[], role: string) =>
    manifests.find((m) => m.kind === 'Role' && m.metadata.name === role)?.rules ?? [];

  it('lets the writers get, list and patch Ingresses only in the namespaces of environments with sleepingBackend', () => {
    const byCluster = clusterRbac([
      env({ sleepingBackend: BACKEND }),
      env({
        customer: 'beta',
        namespace: 'beta-dev',
        deployments: [{ name: 'web', namespace: 'beta-dev', healthUrl: null }],
      }),
    ]);
    const manifests = (byCluster.get('c1') ?? []) as Record<string, any>[];
    const inNs = (ns: string) => manifests.filter((m) => m.metadata.namespace === ns);
    expect(rules(inNs('alpha-dev'), WRITER_ROLE)).toContainEqual(INGRESS_WRITER_RULE);
    expect(rules(inNs('beta-dev'), WRITER_ROLE)).not.toContainEqual(INGRESS_WRITER_RULE);
    // The readers never touch Ingresses.
    expect(JSON.stringify(rules(inNs('alpha-dev'), READER_ROLE))).not.toContain('ingresses');
    expect(INGRESS_WRITER_RULE.verbs).toEqual(['get', 'list', 'patch']);
    expect(rules(namespaceRbac('x'), WRITER_ROLE)).not.toContainEqual(INGRESS_WRITER_RULE);
  });
});
