// Owns the node groups' part of a state record: `eks_nodegroups`, a top-level key of its own
// (written only for environments with `nodegroups`, so legacy readers ignore it), and the
// restore point's checks of it (configured name, same cluster, a scaling config EKS accepts).
import * as z from 'zod';
import type { Environment } from '../config/schema.ts';
import type { CimError } from '../errors.ts';
import type { NodegroupScaling } from '../gateways/nodegroups.ts';
import { scalingError } from '../nodegroups/rules.ts';

export interface NodegroupState {
  name: string;
  cluster: string;
  exists: boolean;
  status: string | null;
  /** The scaling config read (zeros when the node group does not exist). */
  minSize: number;
  maxSize: number;
  desiredSize: number;
  /** What its nodes are billed by (issue 18); absent in older records. */
  instanceTypes?: string[];
  /** ON_DEMAND or SPOT; absent in older records. */
  capacityType?: string | null;
}

const size = z.number().int('must be an integer').min(0);

// Additive keys (issue 18): a bad value reads as absent (nothing an up does depends on them).
const InstanceTypes = z.array(z.string().min(1).max(64)).max(64);
const CapacityType = z.string().min(1).max(32).nullable();

export const LegacyNodegroup = z.looseObject({
  nodegroup_cluster: z.string(),
  nodegroup_exists: z.boolean(),
  nodegroup_status: z.string().nullable(),
  min_size: size,
  max_size: size,
  desired_size: size,
  instance_types: InstanceTypes.optional().catch(undefined),
  capacity_type: CapacityType.optional().catch(undefined),
});

export const LegacyNodegroupKeys = {
  eks_nodegroups: z.record(z.string(), LegacyNodegroup).optional(),
};

export const NodegroupStateSchema = z.object({
  name: z.string(),
  cluster: z.string(),
  exists: z.boolean(),
  status: z.string().nullable(),
  minSize: z.number().int().min(0),
  maxSize: z.number().int().min(0),
  desiredSize: z.number().int().min(0),
  instanceTypes: z.array(z.string()).optional(),
  capacityType: z.string().nullable().optional(),
});

export function nodegroupsToLegacy(n: readonly NodegroupState[] | undefined): Record<string, unknown> {
  if (!n) return {};
  return {
    eks_nodegroups: Object.fromEntries(
      n.map((g) => [
        g.name,
        {
          nodegroup_cluster: g.cluster,
          nodegroup_exists: g.exists,
          nodegroup_status: g.status,
          min_size: g.minSize,
          max_size: g.maxSize,
          desired_size: g.desiredSize,
          ...(g.instanceTypes ? { instance_types: g.instanceTypes } : {}),
          ...(g.capacityType !== undefined ? { capacity_type: g.capacityType } : {}),
        },
      ]),
    ),
  };
}

export function nodegroupsFromLegacy(p: {
  eks_nodegroups?: Record<string, z.output<typeof LegacyNodegroup>> | undefined;
}): NodegroupState[] | undefined {
  if (!p.eks_nodegroups) return undefined;
  return Object.entries(p.eks_nodegroups).map(([name, g]) => ({
    name,
    cluster: g.nodegroup_cluster,
    exists: g.nodegroup_exists,
    status: g.nodegroup_status,
    minSize: g.min_size,
    maxSize: g.max_size,
    desiredSize: g.desired_size,
    ...(g.instance_types ? { instanceTypes: g.instance_types } : {}),
    ...(g.capacity_type !== undefined ? { capacityType: g.capacity_type } : {}),
  }));
}

/** Up: the scaling config to restore by node group name (configured ones that existed at the down). */
export function validateNodegroupRecords(
  rec: { eks_nodegroups?: Record<string, z.output<typeof LegacyNodegroup>> | undefined },
  env: Environment,
  refuse: (why: string) => CimError,
): Record<string, NodegroupScaling> {
  const out: Record<string, NodegroupScaling> = {};
  for (const [name, g] of Object.entries(rec.eks_nodegroups ?? {})) {
    if (!env.nodegroups.includes(name)) continue; // no longer configured: left as it is
    if (g.nodegroup_cluster !== env.cluster)
      throw refuse(
        `node group ${name} is recorded in cluster "${g.nodegroup_cluster}", the environment's is "${env.cluster}"`,
      );
    if (!g.nodegroup_exists) continue;
    const scaling = { minSize: g.min_size, maxSize: g.max_size, desiredSize: g.desired_size };
    const why = scalingError(scaling);
    if (why) throw refuse(`node group ${name} has a scaling config EKS would not accept: ${why}`);
    out[name] = scaling;
  }
  return out;
}
