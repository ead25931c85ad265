// Owns what the domain needs from Kubernetes for workloads other than Deployments
// (StatefulSets scaled through their scale subresource, CronJobs suspended and resumed,
// KEDA ScaledObjects annotated, HPAs read). When each kind counts as settled is the kind's
// own rule (workloads/kinds.ts). The client-node implementation is in
// clients/kubernetes-workloads.ts; the KubeGateway of an environment provides these methods too.

import type { WorkloadTarget } from '../config/schema.ts';
import { CimError, ErrorNames } from '../errors.ts';
import type { PodRequests } from '../workloads/requests.ts';
import type { KubeGateway } from './kubernetes.ts';

export type WorkloadKind = WorkloadTarget['kind'];

export interface StatefulSetStatus {
  exists: boolean;
  /** spec.replicas */
  replicas: number;
  /** Pods the StatefulSet has now (status.replicas); 0 once scaled-down pods are gone. */
  podCount: number;
  readyReplicas: number;
  availableReplicas: number;
  /** Pods at the current revision (status.currentReplicas). */
  currentReplicas: number;
  observed: boolean;
  /** One pod's requests, from the pod template (absent when it does not exist). */
  requests?: PodRequests;
}

export interface CronJobStatus {
  exists: boolean;
  suspend: boolean;
  schedule: string | null;
  /** Jobs the CronJob has running now (status.active). */
  activeJobs: number;
}

/** One object found by discovery; `excluded` when annotated customer-infra-manager/exclude: "true". */
export interface DiscoveredWorkload {
  kind: 'Deployment' | WorkloadKind;
  name: string;
  namespace: string;
  excluded: boolean;
}

/** A KEDA ScaledObject and its autoscaling.keda.sh/paused-replicas annotation (null: not set). */
export interface ScaledObjectStatus {
  name: string;
  namespace: string;
  targetKind: string;
  targetName: string;
  pausedReplicas: string | null;
}

export const PAUSED_REPLICAS = 'autoscaling.keda.sh/paused-replicas';

/** A HorizontalPodAutoscaler (autoscaling/v2) and its ScalingActive condition (null: not reported yet). */
export interface HpaStatus {
  name: string;
  namespace: string;
  targetKind: string;
  targetName: string;
  minReplicas: number;
  maxReplicas: number;
  scalingActive: { status: string; reason: string | null } | null;
}

export interface WorkloadGateway {
  /** The namespace's ScaledObjects; none when KEDA's CRD is not installed. */
  listScaledObjects(namespace: string): Promise<ScaledObjectStatus[]>;
  /** The namespace's HorizontalPodAutoscalers. */
  listHorizontalPodAutoscalers(namespace: string): Promise<HpaStatus[]>;
  /** Sets the paused-replicas annotation, or removes it (null). */
  setPausedReplicas(namespace: string, name: string, value: string | null): Promise<void>;
  /** Deployments, StatefulSets and CronJobs of a namespace matching a label selector (null: all). */
  listWorkloads(namespace: string, labelSelector: string | null): Promise<DiscoveredWorkload[]>;
  readStatefulSet(namespace: string, name: string): Promise<StatefulSetStatus>;
  scaleStatefulSet(namespace: string, name: string, replicas: number): Promise<void>;
  readCronJob(namespace: string, name: string): Promise<CronJobStatus>;
  setCronJobSuspend(namespace: string, name: string, suspend: boolean): Promise<void>;
}

export const MISSING_STATEFULSET: StatefulSetStatus = {
  exists: false,
  replicas: 0,
  podCount: 0,
  readyReplicas: 0,
  availableReplicas: 0,
  currentReplicas: 0,
  observed: true,
};

export const MISSING_CRONJOB: CronJobStatus = {
  exists: false,
  suspend: false,
  schedule: null,
  activeJobs: 0,
};

/** The workload methods of an environment's Kubernetes gateway; a gateway without them is refused by name. */
export function workloadsOf(kube: KubeGateway): WorkloadGateway {
  const k = kube as Partial<WorkloadGateway>;
  if (
    typeof k.readStatefulSet !== 'function' ||
    typeof k.scaleStatefulSet !== 'function' ||
    typeof k.readCronJob !== 'function' ||
    typeof k.setCronJobSuspend !== 'function'
  ) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      'this Kubernetes gateway cannot handle StatefulSets or CronJobs; remove "workloads" from the environment or use the client-node gateway',
    );
  }
  return k as WorkloadGateway;
}
