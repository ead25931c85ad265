// Owns StatefulSet and CronJob access with @kubernetes/client-node: read, scale through the
// scale subresource, suspend/resume. Used by ClientNodeKubeGateway (kube.ts).
import {
  type AppsV1Api,
  type AutoscalingV2Api,
  type BatchV1Api,
  type CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1CronJob,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import {
  type CronJobStatus,
  type DiscoveredWorkload,
  type HpaStatus,
  MISSING_CRONJOB,
  MISSING_STATEFULSET,
  PAUSED_REPLICAS,
  type ScaledObjectStatus,
  type StatefulSetStatus,
  type WorkloadGateway,
} from '../gateways/workloads.ts';
import { podRequests } from '../workloads/requests.ts';

export function statefulSetStatus(s: V1StatefulSet): StatefulSetStatus {
  return {
    exists: true,
    replicas: s.spec?.replicas ?? 1,
    podCount: s.status?.replicas ?? 0,
    readyReplicas: s.status?.readyReplicas ?? 0,
    availableReplicas: s.status?.availableReplicas ?? 0,
    currentReplicas: s.status?.currentReplicas ?? 0,
    observed: (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0),
    requests: podRequests(s.spec?.template?.spec?.containers),
  };
}

export function cronJobStatus(c: V1CronJob): CronJobStatus {
  return {
    exists: true,
    suspend: c.spec?.suspend === true,
    schedule: c.spec?.schedule ?? null,
    activeJobs: c.status?.active?.length ?? 0,
  };
}

const notFound = (err: unknown) => (err as { code?: unknown }).code === 404;

const EXCLUDE = 'customer-infra-manager/exclude';
const found =
  (kind: DiscoveredWorkload['kind'], namespace: string) =>
  (o: { metadata?: { name?: string; annotations?: Record<string, string> } }): DiscoveredWorkload => ({
    kind,
    name: o.metadata?.name ?? '',
    namespace,
    excluded: o.metadata?.annotations?.[EXCLUDE] === 'true',
  });

export function clientNodeWorkloads(
  apps: () => Promise<AppsV1Api>,
  batch: () => Promise<BatchV1Api>,
  kubeError: (err: unknown, what: string) => Error,
  custom: () => Promise<CustomObjectsApi> = async () => {
    throw new Error('no custom objects client');
  },
  autoscaling: () => Promise<AutoscalingV2Api> = async () => {
    throw new Error('no autoscaling/v2 client');
  },
): WorkloadGateway {
  const keda = { group: 'keda.sh', version: 'v1alpha1', plural: 'scaledobjects' };
  return {
    async listHorizontalPodAutoscalers(namespace) {
      try {
        const list = await (await autoscaling()).listNamespacedHorizontalPodAutoscaler({ namespace });
        return list.items.map((h): HpaStatus => {
          const c = h.status?.conditions?.find((x) => x.type === 'ScalingActive');
          return {
            name: h.metadata?.name ?? '',
            namespace,
            targetKind: h.spec?.scaleTargetRef?.kind ?? '',
            targetName: h.spec?.scaleTargetRef?.name ?? '',
            minReplicas: h.spec?.minReplicas ?? 1,
            maxReplicas: h.spec?.maxReplicas ?? 1,
            scalingActive: c ? { status: c.status, reason: c.reason ?? null } : null,
          };
        });
      } catch (err) {
        throw kubeError(err, `listing HorizontalPodAutoscalers in namespace ${namespace}`);
      }
    },
    async listScaledObjects(namespace) {
      try {
        const list = (await (await custom()).listNamespacedCustomObject({ ...keda, namespace })) as {
          items?: {
            metadata?: { name?: string; annotations?: Record<string, string> };
            spec?: { scaleTargetRef?: { kind?: string; name?: string } };
          }[];
        };
        return (list.items ?? []).map(
          (o): ScaledObjectStatus => ({
            name: o.metadata?.name ?? '',
            namespace,
            targetKind: o.spec?.scaleTargetRef?.kind ?? 'Deployment',
            targetName: o.spec?.scaleTargetRef?.name ?? '',
            pausedReplicas: o.metadata?.annotations?.[PAUSED_REPLICAS] ?? null,
          }),
        );
      } catch (err) {
        if (notFound(err)) return []; // KEDA is not installed in this cluster
        throw kubeError(err, `listing KEDA ScaledObjects in namespace ${namespace}`);
      }
    },
    async setPausedReplicas(namespace, name, value) {
      try {
        // A merge patch: null removes the annotation, and no annotations map is needed first.
        await (await custom()).patchNamespacedCustomObject(
          { ...keda, namespace, name, body: { metadata: { annotations: { [PAUSED_REPLICAS]: value } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (err) {
        throw kubeError(err, `setting ${PAUSED_REPLICAS} on ScaledObject ${namespace}/${name}`);
      }
    },
    async listWorkloads(namespace, labelSelector) {
      const q = { namespace, ...(labelSelector ? { labelSelector } : {}) };
      try {
        const a = await apps();
        const [d, s, c] = await Promise.all([
          a.listNamespacedDeployment(q),
          a.listNamespacedStatefulSet(q),
          (await batch()).listNamespacedCronJob(q),
        ]);
        return [
          ...d.items.map(found('Deployment', namespace)),
          ...s.items.map(found('StatefulSet', namespace)),
          ...c.items.map(found('CronJob', namespace)),
        ];
      } catch (err) {
        throw kubeError(err, `listing workloads in namespace ${namespace}`);
      }
    },
    async readStatefulSet(namespace, name) {
      try {
        return statefulSetStatus(await (await apps()).readNamespacedStatefulSet({ name, namespace }));
      } catch (err) {
        if (notFound(err)) return MISSING_STATEFULSET;
        throw kubeError(err, `reading StatefulSet ${namespace}/${name}`);
      }
    },
    async scaleStatefulSet(namespace, name, replicas) {
      try {
        // JSON-Patch: the client's default content type (a merge body would be refused).
        await (await apps()).patchNamespacedStatefulSetScale({
          name,
          namespace,
          body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
        });
      } catch (err) {
        throw kubeError(err, `scaling StatefulSet ${namespace}/${name} to ${replicas}`);
      }
    },
    async readCronJob(namespace, name) {
      try {
        return cronJobStatus(await (await batch()).readNamespacedCronJob({ name, namespace }));
      } catch (err) {
        if (notFound(err)) return MISSING_CRONJOB;
        throw kubeError(err, `reading CronJob ${namespace}/${name}`);
      }
    },
    async setCronJobSuspend(namespace, name, suspend) {
      try {
        // "add" sets the member whether or not the object carries it.
        await (await batch()).patchNamespacedCronJob({
          name,
          namespace,
          body: [{ op: 'add', path: '/spec/suspend', value: suspend }],
        });
      } catch (err) {
        throw kubeError(err, `${suspend ? 'suspending' : 'resuming'} CronJob ${namespace}/${name}`);
      }
    },
  };
}
