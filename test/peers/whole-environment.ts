// The sandbox's whole environment (omega/dev), found by discovery: next to its two deployments
// (seeded like the other environments), a StatefulSet, a CronJob that runs every minute, a
// CronJob that was already suspended, a deployment annotated customer-infra-manager/exclude,
// and the orchestrator's rights on them (README "Kubernetes access").
import { AppsV1Api, BatchV1Api, type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';

export const WHOLE = {
  key: 'omega/dev',
  namespace: 'omega-dev',
  statefulSets: { redis: 2 },
  cronJobs: { report: false, 'paused-report': true },
  excluded: { 'debug-tools': 1 },
} as const;

/** The environment's entry under `environments:` in the sandbox configuration. */
export function wholeEnvironmentConfig(): string {
  return `  # a whole environment: every Deployment, StatefulSet and CronJob of its namespace
  ${WHOLE.key}:
    discover: {}
`;
}

const podSpec = (app: string) => ({
  metadata: { labels: { app } },
  spec: {
    nodeSelector: { type: 'kwok' },
    containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
  },
});

/** Seeds the workloads and the extra rights; the namespace and its deployments exist already. */
export async function seedWholeEnvironment(admin: KubeConfig): Promise<void> {
  const apps = admin.makeApiClient(AppsV1Api);
  const batch = admin.makeApiClient(BatchV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const namespace = WHOLE.namespace;
  for (const [name, replicas] of Object.entries(WHOLE.statefulSets)) {
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name, labels: { app: name } },
        spec: {
          replicas,
          serviceName: name,
          selector: { matchLabels: { app: name } },
          template: podSpec(name),
        },
      },
    });
  }
  for (const [name, replicas] of Object.entries(WHOLE.excluded)) {
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name, labels: { app: name }, annotations: { 'customer-infra-manager/exclude': 'true' } },
        spec: { replicas, selector: { matchLabels: { app: name } }, template: podSpec(name) },
      },
    });
  }
  for (const [name, suspend] of Object.entries(WHOLE.cronJobs)) {
    await batch.createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name },
        spec: {
          schedule: '*/1 * * * *',
          suspend,
          concurrencyPolicy: 'Forbid',
          successfulJobsHistoryLimit: 10,
          jobTemplate: {
            spec: {
              template: {
                ...podSpec(name),
                spec: { ...podSpec(name).spec, restartPolicy: 'Never' },
              },
            },
          },
        },
      },
    });
  }
  // Exactly what the orchestrator needs for these kinds, next to the deployments' Role.
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'cim-orchestrator-workloads' },
      rules: [
        { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list'] },
        { apiGroups: ['apps'], resources: ['statefulsets/scale'], verbs: ['get', 'patch'] },
        { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get', 'list', 'patch'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'cim-orchestrator-workloads' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cim-orchestrator-workloads' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'cim-orchestrator' }],
    },
  });
}

/** Back to the seeded counts and suspend flags. */
export async function resetWholeEnvironment(admin: KubeConfig): Promise<void> {
  const apps = admin.makeApiClient(AppsV1Api);
  const batch = admin.makeApiClient(BatchV1Api);
  const namespace = WHOLE.namespace;
  for (const [name, replicas] of Object.entries(WHOLE.statefulSets))
    await apps.patchNamespacedStatefulSetScale({
      name,
      namespace,
      body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
    });
  for (const [name, suspend] of Object.entries(WHOLE.cronJobs))
    await batch.patchNamespacedCronJob({
      name,
      namespace,
      body: [{ op: 'add', path: '/spec/suspend', value: suspend }],
    });
}

/** Every StatefulSet of the environment at its seeded count and ready. */
export async function wholeEnvironmentReady(admin: KubeConfig): Promise<boolean> {
  const apps = admin.makeApiClient(AppsV1Api);
  for (const [name, replicas] of Object.entries(WHOLE.statefulSets)) {
    const s = await apps.readNamespacedStatefulSet({ name, namespace: WHOLE.namespace });
    if ((s.status?.readyReplicas ?? 0) !== replicas || (s.status?.replicas ?? 0) !== replicas) return false;
  }
  return true;
}
