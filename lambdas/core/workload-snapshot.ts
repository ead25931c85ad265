// Owns reading the StatefulSets and CronJobs of an environment into its state.
import type { Environment } from './config.ts';
import type { KubeGateway } from './kube-gateway.ts';
import { type WorkloadGateway, workloadsOf } from './workload-gateway.ts';
import type { WorkloadState } from './workload-records.ts';

/** KEDA ScaledObjects that target a Deployment or StatefulSet of the environment. */
async function readScaledObjects(gw: WorkloadGateway, env: Environment): Promise<WorkloadState[]> {
  const targets = new Set([
    ...env.deployments.map((d) => `Deployment/${d.namespace}/${d.name}`),
    ...env.workloads
      .filter((w) => w.kind === 'StatefulSet')
      .map((w) => `StatefulSet/${w.namespace}/${w.name}`),
  ]);
  const namespaces = [...new Set([...env.deployments, ...env.workloads].map((w) => w.namespace))];
  const out: WorkloadState[] = [];
  for (const ns of namespaces)
    for (const o of await gw.listScaledObjects(ns))
      if (targets.has(`${o.targetKind}/${ns}/${o.targetName}`))
        out.push({ kind: 'ScaledObject', exists: true, ...o });
  return out;
}

export async function readWorkloads(kube: KubeGateway, env: Environment): Promise<WorkloadState[]> {
  if (env.workloads.length === 0 && !env.keda) return [];
  const gw = workloadsOf(kube);
  const keda = env.keda ? await readScaledObjects(gw, env) : [];
  const listed = await Promise.all(
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
  return [...listed, ...keda];
}
