// The sandbox's whole environment (omega/dev), found by discovery: next to its two deployments
// (seeded like the other environments), a StatefulSet, a CronJob that runs every minute, a
// CronJob that was already suspended, a deployment annotated customer-infra-manager/exclude,
// KEDA ScaledObjects, a HorizontalPodAutoscaler, and the orchestrator's rights on them (README "Kubernetes access").

import { CreateNodegroupCommand, DescribeNodegroupCommand, type EKSClient } from '@aws-sdk/client-eks';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { nodeReaderRbac } from '#core/config/rbac';
import { applyRbac, waitFor } from './sandbox.ts';

export const WHOLE = {
  key: 'omega/dev',
  namespace: 'omega-dev',
  statefulSets: { redis: 2 },
  cronJobs: { report: false, 'paused-report': true },
  excluded: { 'debug-tools': 1 },
  /** ScaledObject -> [target kind, target name, paused-replicas annotation before any run]. */
  scaledObjects: {
    'backend-scaler': ['Deployment', 'backend-deployment', null],
    'redis-scaler': ['StatefulSet', 'redis', '2'],
  },
  /** HorizontalPodAutoscaler -> [target deployment, minReplicas, maxReplicas] (CPU metric, no metrics server). */
  hpas: { 'frontend-hpa': ['frontend-deployment', 1, 3] },
  /** EKS managed node group in moto (which keeps it ACTIVE and creates no instance): its seeded scaling config. */
  nodegroup: { name: 'omega-workers', scaling: { minSize: 1, desiredSize: 2, maxSize: 4 } },
} as const;

/** Seeds the node group in moto's EKS cluster (after each moto reset). */
export async function seedWholeEnvironmentAws(eks: EKSClient, cluster: string): Promise<void> {
  await eks.send(
    new CreateNodegroupCommand({
      clusterName: cluster,
      nodegroupName: WHOLE.nodegroup.name,
      nodeRole: 'arn:aws:iam::123456789012:role/eks-nodes',
      subnets: ['subnet-00000001'],
      scalingConfig: { ...WHOLE.nodegroup.scaling },
    }),
  );
}

/** The node group's scaling config as moto has it. */
export async function nodegroupScaling(eks: EKSClient, cluster: string) {
  const out = await eks.send(
    new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName: WHOLE.nodegroup.name }),
  );
  const s = out.nodegroup?.scalingConfig;
  return {
    status: out.nodegroup?.status,
    minSize: s?.minSize,
    desiredSize: s?.desiredSize,
    maxSize: s?.maxSize,
  };
}

const KEDA = { group: 'keda.sh', version: 'v1alpha1', plural: 'scaledobjects' };
const PAUSED = 'autoscaling.keda.sh/paused-replicas';

/** A minimal ScaledObject CRD of our own: no KEDA operator, just the API for the annotation. */
async function installScaledObjectCrd(admin: KubeConfig) {
  const ext = admin.makeApiClient(ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name: 'scaledobjects.keda.sh' },
      spec: {
        group: 'keda.sh',
        scope: 'Namespaced',
        names: {
          plural: 'scaledobjects',
          singular: 'scaledobject',
          kind: 'ScaledObject',
          listKind: 'ScaledObjectList',
        },
        versions: [
          {
            name: 'v1alpha1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          },
        ],
      },
    },
  });
  await waitFor(
    'the ScaledObject CRD to be established',
    async () =>
      (await ext.readCustomResourceDefinition({ name: 'scaledobjects.keda.sh' })).status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      ) ?? false,
    30_000,
  );
}

/** The environment's entry under `environments:` in the sandbox configuration. */
export function wholeEnvironmentConfig(): string {
  return `  # a whole environment: every Deployment, StatefulSet and CronJob of its namespace
  ${WHOLE.key}:
    discover: {}
    keda: true
    nodegroups: [${WHOLE.nodegroup.name}]
    waits: { nodegroups: { expectedSeconds: 5, timeoutSeconds: 120 } }
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
  await installScaledObjectCrd(admin);
  const custom = admin.makeApiClient(CustomObjectsApi);
  for (const [name, [kind, target, paused]] of Object.entries(WHOLE.scaledObjects)) {
    await custom.createNamespacedCustomObject({
      ...KEDA,
      namespace,
      body: {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name, ...(paused !== null ? { annotations: { [PAUSED]: paused } } : {}) },
        spec: { scaleTargetRef: { kind, name: target }, triggers: [] },
      },
    });
  }
  const autoscaling = admin.makeApiClient(AutoscalingV2Api);
  for (const [name, [target, minReplicas, maxReplicas]] of Object.entries(WHOLE.hpas))
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: {
        metadata: { name },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
          minReplicas,
          maxReplicas,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
            },
          ],
        },
      },
    });
  // The node group's nodes: kwok nodes labelled as EKS labels a managed node group's nodes
  // (moto creates no instance), as many as its desired size; no pod is scheduled on them.
  const core = admin.makeApiClient(CoreV1Api);
  for (let i = 0; i < WHOLE.nodegroup.scaling.desiredSize; i++)
    await core.createNode({
      body: {
        metadata: {
          name: `${WHOLE.nodegroup.name}-${i}`,
          annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
          labels: { 'eks.amazonaws.com/nodegroup': WHOLE.nodegroup.name, 'kubernetes.io/os': 'linux' },
        },
        spec: { taints: [{ key: 'dedicated', value: WHOLE.nodegroup.name, effect: 'NoSchedule' }] },
        status: {
          allocatable: { cpu: '4', memory: '16Gi', pods: '110' },
          capacity: { cpu: '4', memory: '16Gi', pods: '110' },
        },
      },
    });
  // Node readiness for the node groups: the node reader ClusterRole bound to the group the
  // stack's access entries name (the orchestrator's certificate carries it). The namespace's
  // writer Role (seedKubernetes) already covers StatefulSets, CronJobs, HPAs and KEDA.
  await applyRbac(rbac, nodeReaderRbac());
}

/** The paused-replicas annotation of each ScaledObject (null: none). */
export async function pausedReplicas(admin: KubeConfig): Promise<Record<string, string | null>> {
  const custom = admin.makeApiClient(CustomObjectsApi);
  const out: Record<string, string | null> = {};
  for (const name of Object.keys(WHOLE.scaledObjects)) {
    const o = (await custom.getNamespacedCustomObject({ ...KEDA, namespace: WHOLE.namespace, name })) as {
      metadata?: { annotations?: Record<string, string> };
    };
    out[name] = o.metadata?.annotations?.[PAUSED] ?? null;
  }
  return out;
}

/** Each HPA's bounds and ScalingActive condition ("Status/Reason", null: not reported yet). */
export async function hpaStates(
  admin: KubeConfig,
): Promise<Record<string, { min: number | undefined; max: number | undefined; active: string | null }>> {
  const autoscaling = admin.makeApiClient(AutoscalingV2Api);
  const out: Record<string, { min: number | undefined; max: number | undefined; active: string | null }> = {};
  for (const name of Object.keys(WHOLE.hpas)) {
    const h = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace: WHOLE.namespace });
    const c = h.status?.conditions?.find((x) => x.type === 'ScalingActive');
    out[name] = {
      min: h.spec?.minReplicas,
      max: h.spec?.maxReplicas,
      active: c ? `${c.status}/${c.reason}` : null,
    };
  }
  return out;
}

/** Back to the seeded counts, suspend flags and annotations. */
export async function resetWholeEnvironment(admin: KubeConfig): Promise<void> {
  const custom = admin.makeApiClient(CustomObjectsApi);
  for (const [name, [, , paused]] of Object.entries(WHOLE.scaledObjects))
    await custom.patchNamespacedCustomObject(
      {
        ...KEDA,
        namespace: WHOLE.namespace,
        name,
        body: { metadata: { annotations: { [PAUSED]: paused } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
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
