// Kubernetes access by group: the stack's EKS access entries put each function role into a
// Kubernetes group (writers, or readers for the steps that only look), and each namespace of
// a configured environment binds those groups to the minimal Roles below. The template then
// holds no namespace list (it does not grow with the fleet); the bindings are namespaced
// objects that `cim rbac` prints for `kubectl apply -f -`, and the sandbox applies the same
// ones. One module for the stack, the CLI and the sandbox, so the three cannot drift.

import { NODE_READER_ROLE, NODE_READERS_GROUP } from '../nodegroups/rules.ts';
import type { Environment } from './schema.ts';

/** The group of the function roles that change workloads (scale, suspend, pause, restore). */
export const WRITERS_GROUP = 'customer-infra-manager-writers';
/** The group of the function roles that only read workloads (checks, records). */
export const READERS_GROUP = 'customer-infra-manager-readers';
export const WRITER_ROLE = 'customer-infra-manager-writer';
export const READER_ROLE = 'customer-infra-manager-reader';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** What the writers need in a namespace (README "Kubernetes access"); no Secrets, no exec. */
export const WRITER_RULES: readonly PolicyRule[] = [
  // watch: local cim waits on deployments.
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['statefulsets/scale'], verbs: ['get', 'patch'] },
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get', 'list', 'patch'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list'] },
  { apiGroups: ['keda.sh'], resources: ['scaledobjects'], verbs: ['get', 'list', 'patch'] },
];

/** The same resources, read only: what the check and record steps look at. */
export const READER_RULES: readonly PolicyRule[] = WRITER_RULES.map((r) => ({
  ...r,
  verbs: r.verbs.filter((v) => v === 'get' || v === 'list' || v === 'watch'),
}));

/**
 * The writers' rule in the namespaces of environments with sleepingBackend only (issue 19):
 * Prepare lists the Ingresses, the Ingress steps read and patch them. The readers need none.
 */
export const INGRESS_WRITER_RULE: PolicyRule = {
  apiGroups: ['networking.k8s.io'],
  resources: ['ingresses'],
  verbs: ['get', 'list', 'patch'],
};

/** Every namespace an environment's steps touch: its own, its deployments', workloads' and discovery's. */
export function environmentNamespaces(env: Environment): string[] {
  return [
    ...new Set([
      env.namespace,
      ...env.deployments.map((d) => d.namespace),
      ...env.workloads.map((w) => w.namespace),
      ...(env.discover?.namespaces ?? []),
    ]),
  ]
    .filter(Boolean)
    .sort();
}

type Manifest = Record<string, unknown>;
const RBAC = 'rbac.authorization.k8s.io/v1';
const LABELS = { 'app.kubernetes.io/managed-by': 'customer-infra-manager' };

/** Per namespace: the writer and reader Roles, each bound to its group (with `ingresses`, the writers may patch Ingresses). */
export function namespaceRbac(namespace: string, o: { ingresses?: boolean } = {}): Manifest[] {
  const pair = (role: string, group: string, rules: readonly PolicyRule[]): Manifest[] => [
    { apiVersion: RBAC, kind: 'Role', metadata: { name: role, namespace, labels: LABELS }, rules },
    {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: role, namespace, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
    },
  ];
  return [
    ...pair(WRITER_ROLE, WRITERS_GROUP, o.ingresses ? [...WRITER_RULES, INGRESS_WRITER_RULE] : WRITER_RULES),
    ...pair(READER_ROLE, READERS_GROUP, READER_RULES),
  ];
}

/** The node reader ClusterRole and its binding (only where environments have node groups). */
export function nodeReaderRbac(): Manifest[] {
  return [
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: NODE_READER_ROLE, labels: LABELS },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }],
    },
    {
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: NODE_READER_ROLE, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NODE_READER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: NODE_READERS_GROUP }],
    },
  ];
}

/** Per cluster, the manifests its configured environments need (namespaces sorted, each once). */
export function clusterRbac(envs: readonly Environment[]): Map<string, Manifest[]> {
  const namespaces = new Map<string, Set<string>>();
  const withNodegroups = new Set<string>();
  // "cluster namespace" of the environments with sleepingBackend.
  const withIngresses = new Set<string>();
  for (const e of envs) {
    const set = namespaces.get(e.cluster) ?? new Set<string>();
    for (const ns of environmentNamespaces(e)) {
      set.add(ns);
      if (e.sleepingBackend) withIngresses.add(`${e.cluster} ${ns}`);
    }
    namespaces.set(e.cluster, set);
    if (e.nodegroups.length) withNodegroups.add(e.cluster);
  }
  return new Map(
    [...namespaces]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, set]) => [
        cluster,
        [
          ...[...set]
            .sort()
            .flatMap((ns) => namespaceRbac(ns, { ingresses: withIngresses.has(`${cluster} ${ns}`) })),
          ...(withNodegroups.has(cluster) ? nodeReaderRbac() : []),
        ],
      ]),
  );
}
