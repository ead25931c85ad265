// Owns reading the StatefulSets and CronJobs of an environment into its state.
import type { Environment } from '../config/schema.ts';
import type { KubeGateway } from '../gateways/kubernetes.ts';
import { type WorkloadGateway, workloadsOf } from '../gateways/workloads.ts';
import type { WorkloadState } from '../records/workload-state.ts';

/** "Kind/namespace/name" of every Deployment and StatefulSet the environment scales. */
function scaledTargets(env: Environment): Set<string> {
  return new Set([
    ...env.deployments.map((d) => `Deployment/${d.namespace}/${d.name}`),
    ...env.workloads
      .filter((w) => w.kind === 'StatefulSet')
      .map((w) => `StatefulSet/${w.namespace}/${w.name}`),
  ]);
}

const namespacesOf = (env: Environment) => [
  ...new Set([...env.deployments, ...env.workloads].map((w) => w.namespace)),
];

/** HorizontalPodAutoscalers that target a Deployment or StatefulSet of the environment. */
async function readHpas(gw: WorkloadGateway, env: Environment): Promise<WorkloadState[]> {
  const targets = scaledTargets(env);
  const out: WorkloadState[] = [];
  for (const ns of namespacesOf(env))
    for (const h of await gw.listHorizontalPodAutoscalers(ns))
      if (targets.has(`${h.targetKind}/${ns}/${h.targetName}`)) {
        const { scalingActive: _active, ...rest } = h;
        out.push({ kind: 'HorizontalPodAutoscaler', exists: true, ...rest });
      }
  return out;
}

/** KEDA ScaledObjects that target a Deployment or StatefulSet of the environment. */
async function readScaledObjects(gw: WorkloadGateway, env: Environment): Promise<WorkloadState[]> {
  const targets = scaledTargets(env);
  const namespaces = namespacesOf(env);
  const out: WorkloadState[] = [];
  for (const ns of namespaces)
    for (const o of await gw.listScaledObjects(ns))
      if (targets.has(`${o.targetKind}/${ns}/${o.targetName}`))
        out.push({ kind: 'ScaledObject', exists: true, ...o });
  return out;
}

/** Environments whose state has more than deployments (StatefulSets, CronJobs, autoscalers). */
export const wholeEnvironment = (env: Environment) =>
  env.workloads.length > 0 || env.keda || env.discover !== null;

export async function readWorkloads(kube: KubeGateway, env: Environment): Promise<WorkloadState[]> {
  if (!wholeEnvironment(env)) return [];
  const gw = workloadsOf(kube);
  const keda = env.keda ? await readScaledObjects(gw, env) : [];
  const hpas = await readHpas(gw, env);
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
  return [...listed, ...keda, ...hpas];
}
