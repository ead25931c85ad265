// Owns what the domain needs from Kubernetes (read a deployment, scale it) and when a
// deployment counts as settled. No client library here: see kube.ts for the implementation.
import type { PodRequests } from '../workloads/requests.ts';

export interface DeploymentStatus {
  exists: boolean;
  replicas: number;
  /** Pods the deployment currently has (status.replicas); 0 once scaled-down pods are gone. */
  currentReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  updatedReplicas: number;
  /** The controller has seen the latest spec (status.observedGeneration >= metadata.generation). */
  observed: boolean;
  availableCondition: { status: string; reason: string | null } | null;
  /** One pod's requests, from the pod template (absent when it does not exist). */
  requests?: PodRequests;
}

export interface KubeGateway {
  readDeployment(namespace: string, name: string): Promise<DeploymentStatus>;
  scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
  /** Asks the API server whether this identity may scale the deployment, changing nothing (dry run). */
  checkScale(namespace: string, name: string): Promise<void>;
}

/** What a deployment that does not exist reads as. */
export const MISSING_DEPLOYMENT: DeploymentStatus = {
  exists: false,
  replicas: 0,
  currentReplicas: 0,
  readyReplicas: 0,
  availableReplicas: 0,
  updatedReplicas: 0,
  observed: true,
  availableCondition: null,
};

/** Rolled out and every wanted replica available (0 wanted is done once observed). */
export function deploymentSettled(s: DeploymentStatus): boolean {
  if (!s.exists) return true;
  return (
    s.observed &&
    s.currentReplicas <= s.replicas &&
    s.availableReplicas >= s.replicas &&
    s.updatedReplicas >= s.replicas &&
    s.readyReplicas >= s.replicas
  );
}

/** A node and whether its Ready condition is True. */
export interface NodeStatus {
  name: string;
  ready: boolean;
}

/** Nodes by label (the node groups' readiness): cluster-scoped list on nodes. */
export interface NodeLister {
  listNodes(labelSelector: string): Promise<NodeStatus[]>;
}
