// Owns the StatefulSet and CronJob part of a restore point: read from an untrusted record,
// checked like the deployments (configured names and namespaces, integer counts within
// maxReplicas). A legacy record has none: up then leaves those workloads as they are.
import type { Environment } from '../config/schema.ts';
import type { CimError } from '../errors.ts';
import type { LegacyState } from './legacy-state.ts';

export interface RestoredWorkloads {
  /** Count to restore by StatefulSet name (those that existed at the down). */
  statefulSets: Record<string, number>;
  /** suspend flag recorded before the down, by CronJob name. */
  cronJobs: Record<string, boolean>;
  /** paused-replicas annotation recorded before the down (null: there was none), by ScaledObject name. */
  scaledObjects: Record<string, { namespace: string; pausedReplicas: string | null }>;
  /** HorizontalPodAutoscalers recorded at the down (their bounds then), by name. */
  hpas: Record<
    string,
    { namespace: string; targetKind: string; targetName: string; minReplicas: number; maxReplicas: number }
  >;
  /** "Kind name" of recorded workloads that are no longer configured: reported, not restored. */
  notConfigured: string[];
}

type Rec = ReturnType<typeof LegacyState.parse>;

export function validateWorkloadRecords(
  rec: Rec,
  env: Environment,
  refuse: (why: string) => CimError,
): RestoredWorkloads {
  const out: RestoredWorkloads = {
    statefulSets: {},
    cronJobs: {},
    scaledObjects: {},
    hpas: {},
    notConfigured: [],
  };
  // Only ScaledObjects in the environment's namespaces are touched.
  const namespaces = new Set([...env.deployments, ...env.workloads].map((w) => w.namespace));
  for (const [name, o] of Object.entries(rec.keda_scaledobjects ?? {})) {
    if (!namespaces.has(o.scaledobject_namespace))
      throw refuse(
        `ScaledObject ${name} is recorded in namespace "${o.scaledobject_namespace}", not one of the environment's`,
      );
    out.scaledObjects[name] = { namespace: o.scaledobject_namespace, pausedReplicas: o.paused_replicas };
  }
  for (const [name, h] of Object.entries(rec.k8s_hpas ?? {})) {
    if (!namespaces.has(h.hpa_namespace))
      throw refuse(
        `HorizontalPodAutoscaler ${name} is recorded in namespace "${h.hpa_namespace}", not one of the environment's`,
      );
    if (h.hpa_min_replicas > h.hpa_max_replicas)
      throw refuse(
        `HorizontalPodAutoscaler ${name} is recorded with minReplicas ${h.hpa_min_replicas} above maxReplicas ${h.hpa_max_replicas}`,
      );
    out.hpas[name] = {
      namespace: h.hpa_namespace,
      targetKind: h.hpa_target_kind,
      targetName: h.hpa_target_name,
      minReplicas: h.hpa_min_replicas,
      maxReplicas: h.hpa_max_replicas,
    };
  }
  const configured = (kind: 'StatefulSet' | 'CronJob', name: string) =>
    env.workloads.find((w) => w.kind === kind && w.name === name);
  for (const [name, s] of Object.entries(rec.k8s_statefulsets ?? {})) {
    const target = configured('StatefulSet', name);
    if (!target) {
      out.notConfigured.push(`StatefulSet ${name}`);
      continue;
    }
    if (s.statefulset_namespace !== target.namespace)
      throw refuse(
        `StatefulSet ${name} is recorded in namespace "${s.statefulset_namespace}", configured in "${target.namespace}"`,
      );
    if (!s.statefulset_exists) continue;
    if (s.statefulset_replicas > env.maxReplicas)
      throw refuse(
        `StatefulSet ${name} would be restored to ${s.statefulset_replicas} replicas, above maxReplicas ${env.maxReplicas} (raise maxReplicas in the configuration if that is real)`,
      );
    out.statefulSets[name] = s.statefulset_replicas;
  }
  for (const [name, c] of Object.entries(rec.k8s_cronjobs ?? {})) {
    const target = configured('CronJob', name);
    if (!target) {
      out.notConfigured.push(`CronJob ${name}`);
      continue;
    }
    if (c.cronjob_namespace !== target.namespace)
      throw refuse(
        `CronJob ${name} is recorded in namespace "${c.cronjob_namespace}", configured in "${target.namespace}"`,
      );
    if (c.cronjob_exists) out.cronJobs[name] = c.cronjob_suspend;
  }
  return out;
}
