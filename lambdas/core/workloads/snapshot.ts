// Owns reading the workloads other than Deployments of an environment into its state: each
// configured target by its kind, then the attached kinds (KEDA, HPAs) found through them.
import type { Environment } from '../config/schema.ts';
import type { KubeGateway } from '../gateways/kubernetes.ts';
import { type WorkloadGateway, workloadsOf } from '../gateways/workloads.ts';
import type { AnyAttachedKind } from './kind.ts';
import { ATTACHED_KINDS, scaledTargets, targetKindOf, type WorkloadState } from './kinds.ts';

const namespacesOf = (env: Environment) => [
  ...new Set([...env.deployments, ...env.workloads].map((w) => w.namespace)),
];

/** Objects of an attached kind (ScaledObjects, HPAs) that target a Deployment or scalable target of the environment. */
async function readAttached(
  gw: WorkloadGateway,
  env: Environment,
  k: AnyAttachedKind,
): Promise<WorkloadState[]> {
  const targets = scaledTargets(env);
  const out: WorkloadState[] = [];
  for (const ns of namespacesOf(env))
    for (const o of await k.list(gw, ns))
      if (targets.has(`${o.targetKind}/${ns}/${o.targetName}`)) out.push(o as WorkloadState);
  return out;
}

/** Environments whose state has more than deployments (StatefulSets, CronJobs, autoscalers). */
export const wholeEnvironment = (env: Environment) =>
  env.workloads.length > 0 || env.keda || env.discover !== null;

export async function readWorkloads(kube: KubeGateway, env: Environment): Promise<WorkloadState[]> {
  if (!wholeEnvironment(env)) return [];
  const gw = workloadsOf(kube);
  const attached: WorkloadState[] = [];
  for (const k of ATTACHED_KINDS) if (k.enabled(env)) attached.push(...(await readAttached(gw, env, k)));
  const listed = await Promise.all(
    env.workloads.map((w): Promise<WorkloadState> => targetKindOf(w.kind).read(gw, w)),
  );
  return [...listed, ...attached];
}
