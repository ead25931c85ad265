// Interface of EKS managed node groups: read a node group's scaling config and status, set
// its scaling config (EKS in clients/eks-nodegroups.ts; fakes in tests).

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
  /** What its nodes are billed by (issue 18): instance types, ON_DEMAND or SPOT. */
  instanceTypes?: string[];
  capacityType?: string | null;
}

export interface NodegroupGateway {
  describe(cluster: string, name: string): Promise<NodegroupStatus>;
  /** Returns false when EKS refuses because an update is already in progress (ResourceInUseException). */
  update(cluster: string, name: string, scaling: NodegroupScaling): Promise<boolean>;
}
