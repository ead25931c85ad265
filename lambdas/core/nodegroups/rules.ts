// Owns the rules of EKS managed node groups (optional per environment, `nodegroups: [name,
// ...]`) that EKS and this tool hold their scaling config to (min ≤ desired ≤ max, max ≥ 1);
// the EKS calls are in clients/eks-nodegroups.ts. Down records each node group's
// scaling config and sets min 0 / desired 0 (max kept: EKS requires max ≥ 1); up gives the
// recorded config back and waits until the node group is ACTIVE with it and its desired
// nodes are Ready in Kubernetes.
import type { NodegroupScaling } from '../gateways/nodegroups.ts';

/**
 * Nodes are cluster-wide: namespace-scoped access (the stack's EKS access entries) cannot
 * list them. The functions that do are put in this Kubernetes group, which the operator
 * binds once per cluster to this ClusterRole (get, list on nodes; README "Kubernetes access").
 */
export const NODE_READERS_GROUP = 'customer-infra-manager-node-readers';
export const NODE_READER_ROLE = 'customer-infra-manager-node-reader';

/** A node group in one of these states is not fixed by waiting: the run stops and says so. */
const ERROR_STATES = new Set(['CREATE_FAILED', 'DELETE_FAILED', 'DELETING']);
export const nodegroupInError = (status: string | null) => status !== null && ERROR_STATES.has(status);

/** Why a scaling config breaks the rules (null: it holds them). */
export function scalingError(s: NodegroupScaling): string | null {
  const ints = [s.minSize, s.maxSize, s.desiredSize];
  if (ints.some((n) => !Number.isInteger(n) || n < 0))
    return `sizes must be integers ≥ 0 (min ${s.minSize}, desired ${s.desiredSize}, max ${s.maxSize})`;
  if (s.maxSize < 1) return `maxSize must be at least 1 (EKS), it is ${s.maxSize}`;
  if (s.minSize > s.desiredSize || s.desiredSize > s.maxSize)
    return `min ≤ desired ≤ max does not hold (min ${s.minSize}, desired ${s.desiredSize}, max ${s.maxSize})`;
  return null;
}

export const sameScaling = (a: NodegroupScaling | null, b: NodegroupScaling) =>
  a !== null && a.minSize === b.minSize && a.maxSize === b.maxSize && a.desiredSize === b.desiredSize;

/** What down leaves: no node, max kept (EKS refuses a maxSize of 0). */
export const scaledDown = (recorded: NodegroupScaling): NodegroupScaling => ({
  minSize: 0,
  desiredSize: 0,
  maxSize: recorded.maxSize,
});

export const nodegroupLabel = (cluster: string, name: string) => `node group ${cluster}/${name}`;

/** The Kubernetes label EKS puts on the nodes of a managed node group. */
export const NODEGROUP_LABEL = 'eks.amazonaws.com/nodegroup';
