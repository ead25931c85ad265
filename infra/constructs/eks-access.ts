// One EKS access entry per function role that talks to Kubernetes, per cluster: a
// Kubernetes group and no access policy, so the template holds no namespace list and does
// not grow with the fleet (EKS access policies scoped to namespaces list every namespace,
// 72 % of a 2,000-environment template). The groups are bound per namespace to the minimal
// Roles of #core/rbac (`cim rbac` prints them); read-only steps get the reader group.

import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { READERS_GROUP, WRITERS_GROUP } from '#core/config/rbac';
import type { Environment } from '#core/config/schema';
import { NODE_READERS_GROUP } from '#core/nodegroups/rules';
import type { TaskFunctionId } from '#core/steps';
import { KUBERNETES_WRITERS, NEEDS } from '../iam/needs.ts';

export function addEksAccessEntries(
  scope: Construct,
  envs: readonly Environment[],
  fns: Record<TaskFunctionId, NodejsFunction>,
): void {
  const clusters = [...new Set(envs.map((e) => e.cluster))].sort();
  const withNodegroups = new Set(envs.filter((e) => e.nodegroups.length).map((e) => e.cluster));
  for (const cluster of clusters) {
    for (const id of Object.keys(NEEDS) as TaskFunctionId[]) {
      if (!NEEDS[id].eks) continue;
      // Nodes are cluster-wide: the functions that list them (Prepare's preflight, the
      // node group check) join the group the operator binds to the node reader ClusterRole.
      const readsNodes = withNodegroups.has(cluster) && (id === 'prepare' || id === 'check-nodegroups');
      new CfnAccessEntry(scope, `Access-${cluster}-${id}`, {
        clusterName: cluster,
        principalArn: fns[id].role?.roleArn as string,
        type: 'STANDARD',
        kubernetesGroups: [
          KUBERNETES_WRITERS.has(id) ? WRITERS_GROUP : READERS_GROUP,
          ...(readsNodes ? [NODE_READERS_GROUP] : []),
        ],
      });
    }
  }
}
