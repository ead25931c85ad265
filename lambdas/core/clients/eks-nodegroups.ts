// Owns the EKS calls of the node group gateway: DescribeNodegroup and UpdateNodegroupConfig,
// with the SDK's errors turned into the tool's.
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
import type { NodegroupGateway, NodegroupScaling, NodegroupStatus } from '../gateways/nodegroups.ts';
import { nodegroupLabel, scalingError } from '../nodegroups/rules.ts';

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
        ...(n ? { instanceTypes: n.instanceTypes ?? [], capacityType: n.capacityType ?? null } : {}),
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
