// Owns the state of StatefulSets and CronJobs in a state record. `k8s_deployments` keeps
// its legacy shape; the other kinds go into top-level keys of their own, in the same style
// (`k8s_statefulsets`, `k8s_cronjobs`, `keda_scaledobjects`, `k8s_hpas`), written only when the environment has such
// workloads, so a record written now still parses with the legacy reader and a legacy
// record (without them) still restores. JSON Schema: schemas/state-record.schema.json.
import * as z from 'zod';

export interface StatefulSetState {
  kind: 'StatefulSet';
  name: string;
  namespace: string;
  exists: boolean;
  replicas: number;
  readyReplicas: number;
}

export interface CronJobState {
  kind: 'CronJob';
  name: string;
  namespace: string;
  exists: boolean;
  /** spec.suspend before this tool touched it (down restores exactly this on up). */
  suspend: boolean;
  schedule: string | null;
  /** Jobs running when the state was read (a down reports those still running after its grace). */
  activeJobs: number;
}

/** A KEDA ScaledObject targeting a scaled workload, and its paused-replicas annotation before the down. */
export interface ScaledObjectState {
  kind: 'ScaledObject';
  name: string;
  namespace: string;
  exists: boolean;
  targetKind: string;
  targetName: string;
  pausedReplicas: string | null;
}

/** A HorizontalPodAutoscaler targeting a scaled workload: its bounds, recorded, never changed by this tool. */
export interface HpaState {
  kind: 'HorizontalPodAutoscaler';
  name: string;
  namespace: string;
  exists: boolean;
  targetKind: string;
  targetName: string;
  minReplicas: number;
  maxReplicas: number;
}

export type WorkloadState = StatefulSetState | CronJobState | ScaledObjectState | HpaState;

export const LegacyStatefulSet = z.looseObject({
  statefulset_namespace: z.string(),
  statefulset_exists: z.boolean(),
  statefulset_replicas: z.number().int('must be an integer').min(0),
  statefulset_ready_replicas: z.number().int().min(0).optional(),
});

export const LegacyCronJob = z.looseObject({
  cronjob_namespace: z.string(),
  cronjob_exists: z.boolean(),
  cronjob_suspend: z.boolean(),
  cronjob_schedule: z.string().nullable().optional(),
  cronjob_active_jobs: z.number().int().min(0).optional(),
});

export const LegacyScaledObject = z.looseObject({
  scaledobject_namespace: z.string(),
  scaledobject_target_kind: z.string(),
  scaledobject_target_name: z.string(),
  paused_replicas: z.string().nullable(),
});

export const LegacyHpa = z.looseObject({
  hpa_namespace: z.string(),
  hpa_target_kind: z.string(),
  hpa_target_name: z.string(),
  hpa_min_replicas: z.number().int('must be an integer').min(0),
  hpa_max_replicas: z.number().int('must be an integer').min(1),
});

/** The keys a state record may carry next to k8s_deployments. */
export const LegacyWorkloadKeys = {
  k8s_hpas: z.record(z.string(), LegacyHpa).optional(),
  k8s_statefulsets: z.record(z.string(), LegacyStatefulSet).optional(),
  k8s_cronjobs: z.record(z.string(), LegacyCronJob).optional(),
  keda_scaledobjects: z.record(z.string(), LegacyScaledObject).optional(),
};

export function workloadsToLegacy(workloads: readonly WorkloadState[] | undefined): Record<string, unknown> {
  if (!workloads?.length) return {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const w of workloads) {
    if (w.kind === 'StatefulSet') {
      out.k8s_statefulsets ??= {};
      out.k8s_statefulsets[w.name] = {
        statefulset_namespace: w.namespace,
        statefulset_exists: w.exists,
        statefulset_replicas: w.replicas,
        statefulset_ready_replicas: w.readyReplicas,
      };
    } else if (w.kind === 'HorizontalPodAutoscaler') {
      out.k8s_hpas ??= {};
      out.k8s_hpas[w.name] = {
        hpa_namespace: w.namespace,
        hpa_target_kind: w.targetKind,
        hpa_target_name: w.targetName,
        hpa_min_replicas: w.minReplicas,
        hpa_max_replicas: w.maxReplicas,
      };
    } else if (w.kind === 'ScaledObject') {
      out.keda_scaledobjects ??= {};
      out.keda_scaledobjects[w.name] = {
        scaledobject_namespace: w.namespace,
        scaledobject_target_kind: w.targetKind,
        scaledobject_target_name: w.targetName,
        paused_replicas: w.pausedReplicas,
      };
    } else {
      out.k8s_cronjobs ??= {};
      out.k8s_cronjobs[w.name] = {
        cronjob_namespace: w.namespace,
        cronjob_exists: w.exists,
        cronjob_suspend: w.suspend,
        cronjob_schedule: w.schedule,
        cronjob_active_jobs: w.activeJobs,
      };
    }
  }
  return out;
}

export function workloadsFromLegacy(p: {
  k8s_statefulsets?: Record<string, z.output<typeof LegacyStatefulSet>> | undefined;
  k8s_cronjobs?: Record<string, z.output<typeof LegacyCronJob>> | undefined;
  keda_scaledobjects?: Record<string, z.output<typeof LegacyScaledObject>> | undefined;
  k8s_hpas?: Record<string, z.output<typeof LegacyHpa>> | undefined;
}): WorkloadState[] | undefined {
  if (!p.k8s_statefulsets && !p.k8s_cronjobs && !p.keda_scaledobjects && !p.k8s_hpas) return undefined;
  return [
    ...Object.entries(p.k8s_statefulsets ?? {}).map(
      ([name, s]): WorkloadState => ({
        kind: 'StatefulSet',
        name,
        namespace: s.statefulset_namespace,
        exists: s.statefulset_exists,
        replicas: s.statefulset_replicas,
        readyReplicas: s.statefulset_ready_replicas ?? 0,
      }),
    ),
    ...Object.entries(p.k8s_cronjobs ?? {}).map(
      ([name, c]): WorkloadState => ({
        kind: 'CronJob',
        name,
        namespace: c.cronjob_namespace,
        exists: c.cronjob_exists,
        suspend: c.cronjob_suspend,
        schedule: c.cronjob_schedule ?? null,
        activeJobs: c.cronjob_active_jobs ?? 0,
      }),
    ),
    ...Object.entries(p.keda_scaledobjects ?? {}).map(
      ([name, o]): WorkloadState => ({
        kind: 'ScaledObject',
        name,
        namespace: o.scaledobject_namespace,
        exists: true,
        targetKind: o.scaledobject_target_kind,
        targetName: o.scaledobject_target_name,
        pausedReplicas: o.paused_replicas,
      }),
    ),
    ...Object.entries(p.k8s_hpas ?? {}).map(
      ([name, h]): WorkloadState => ({
        kind: 'HorizontalPodAutoscaler',
        name,
        namespace: h.hpa_namespace,
        exists: true,
        targetKind: h.hpa_target_kind,
        targetName: h.hpa_target_name,
        minReplicas: h.hpa_min_replicas,
        maxReplicas: h.hpa_max_replicas,
      }),
    ),
  ];
}

/** The run context's copy of the workloads (checked at each Task's boundary). */
export const WorkloadStateSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('StatefulSet'),
    name: z.string(),
    namespace: z.string(),
    exists: z.boolean(),
    replicas: z.number().int().min(0),
    readyReplicas: z.number().int().min(0),
  }),
  z.object({
    kind: z.literal('CronJob'),
    name: z.string(),
    namespace: z.string(),
    exists: z.boolean(),
    suspend: z.boolean(),
    schedule: z.string().nullable(),
    activeJobs: z.number().int().min(0),
  }),
  z.object({
    kind: z.literal('ScaledObject'),
    name: z.string(),
    namespace: z.string(),
    exists: z.boolean(),
    targetKind: z.string(),
    targetName: z.string(),
    pausedReplicas: z.string().nullable(),
  }),
  z.object({
    kind: z.literal('HorizontalPodAutoscaler'),
    name: z.string(),
    namespace: z.string(),
    exists: z.boolean(),
    targetKind: z.string(),
    targetName: z.string(),
    minReplicas: z.number().int().min(0),
    maxReplicas: z.number().int().min(1),
  }),
]);
