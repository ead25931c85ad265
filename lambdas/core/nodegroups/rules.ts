// Owns EKS managed node groups (optional per environment, `nodegroups: [name, ...]`): reading
// their scaling config and status, setting it with UpdateNodegroupConfig, and the rules EKS
// and this tool hold it to (min ≤ desired ≤ max, max ≥ 1). Down records each node group's
// scaling config and sets min 0 / desired 0 (max kept: EKS requires max ≥ 1); up gives the
// recorded config back and waits until the node group is ACTIVE with it and its desired
// nodes are Ready in Kubernetes.
import {
  DescribeNodegroupCommand,
  EKSClient,
  type EKSClientConfig,
  UpdateNodegroupConfigCommand,
} from '@aws-sdk/client-eks';
import {
  AWS_REQUEST_TIMEOUTS,
  CimError,
  ErrorNames,
  errorMessage,
  errorName,
  wrapAwsError,
} from '../errors.ts';

/**
 * Nodes are cluster-wide: namespace-scoped access (the stack's EKS access entries) cannot
 * list them. The functions that do are put in this Kubernetes group, which the operator
 * binds once per cluster to this ClusterRole (get, list on nodes; README "Kubernetes access").
 */
export const NODE_READERS_GROUP = 'customer-infra-manager-node-readers';
export const NODE_READER_ROLE = 'customer-infra-manager-node-reader';

export interface NodegroupScaling {
  minSize: number;
  maxSize: number;
  desiredSize: number;
}

export interface NodegroupStatus {
  exists: boolean;
  /** ACTIVE, UPDATING, DEGRADED, CREATING, ... (null: it does not exist). */
  status: string | null;
  scaling: NodegroupScaling | null;
  /** Health issue codes EKS reports (a DEGRADED node group says why). */
  issues: string[];
}

export interface NodegroupGateway {
  describe(cluster: string, name: string): Promise<NodegroupStatus>;
  /** Returns false when EKS refuses because an update is already in progress (ResourceInUseException). */
  update(cluster: string, name: string, scaling: NodegroupScaling): Promise<boolean>;
}

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

export class EksNodegroupGateway implements NodegroupGateway {
  constructor(private readonly eks: EKSClient) {}

  async describe(cluster: string, name: string): Promise<NodegroupStatus> {
    try {
      const out = await this.eks.send(
        new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName: name }),
      );
      const n = out.nodegroup;
      const s = n?.scalingConfig;
      return {
        exists: Boolean(n),
        status: n?.status ?? null,
        scaling: s
          ? { minSize: s.minSize ?? 0, maxSize: s.maxSize ?? 0, desiredSize: s.desiredSize ?? 0 }
          : null,
        issues: (n?.health?.issues ?? []).map((i) => `${i.code ?? '?'}: ${i.message ?? ''}`.trim()),
      };
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException')
        return { exists: false, status: null, scaling: null, issues: [] };
      throw wrapAwsError(err, `describing ${nodegroupLabel(cluster, name)}`);
    }
  }

  async update(cluster: string, name: string, scaling: NodegroupScaling): Promise<boolean> {
    const why = scalingError(scaling);
    if (why)
      throw new CimError(
        ErrorNames.StateRecordInvalid,
        `refusing to set ${nodegroupLabel(cluster, name)} to an invalid scaling config: ${why}`,
      );
    try {
      await this.eks.send(
        new UpdateNodegroupConfigCommand({
          clusterName: cluster,
          nodegroupName: name,
          scalingConfig: scaling,
        }),
      );
      return true;
    } catch (err) {
      if (errorName(err) === 'ResourceInUseException') return false; // an update is in progress
      const wrapped = wrapAwsError(err, `updating ${nodegroupLabel(cluster, name)}`);
      if (wrapped instanceof CimError) throw wrapped;
      throw new CimError(
        ErrorNames.NodegroupActionFailed,
        `updating the scaling config of ${nodegroupLabel(cluster, name)} failed: ${errorName(err)}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
}

export const eksClientFor = (region: string, credentials?: EKSClientConfig['credentials']) =>
  new EKSClient({ region, requestHandler: AWS_REQUEST_TIMEOUTS, ...(credentials ? { credentials } : {}) });
