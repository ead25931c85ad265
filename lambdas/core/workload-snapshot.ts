// Owns reading the StatefulSets and CronJobs of an environment into its state.
import type { Environment } from './config.ts';
import type { KubeGateway } from './kube-gateway.ts';
import { workloadsOf } from './workload-gateway.ts';
import type { WorkloadState } from './workload-records.ts';

export async function readWorkloads(kube: KubeGateway, env: Environment): Promise<WorkloadState[]> {
  if (env.workloads.length === 0) return [];
  const gw = workloadsOf(kube);
  return Promise.all(
    env.workloads.map(async (w): Promise<WorkloadState> => {
      if (w.kind === 'StatefulSet') {
        const s = await gw.readStatefulSet(w.namespace, w.name);
        return {
          kind: 'StatefulSet',
          name: w.name,
          namespace: w.namespace,
          exists: s.exists,
          replicas: s.exists ? s.replicas : 0,
          readyReplicas: s.readyReplicas,
        };
      }
      const c = await gw.readCronJob(w.namespace, w.name);
      return {
        kind: 'CronJob',
        name: w.name,
        namespace: w.namespace,
        exists: c.exists,
        suspend: c.suspend,
        schedule: c.schedule,
        activeJobs: c.activeJobs,
      };
    }),
  );
}
