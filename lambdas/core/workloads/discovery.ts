// Owns discovery: an environment configured with `discover` has no fixed list of workloads.
// At down (and status, dry runs) its Deployments, StatefulSets and CronJobs are listed in its
// namespaces, filtered by a label selector, minus those annotated
// `customer-infra-manager/exclude: "true"`; what is discovered is what is recorded. At up the
// targets are exactly what the restore point recorded, and what is new since is reported and
// left as it is. The run context carries the targets, so every step sees the same list.
import type { Environment, WorkloadTarget } from '../config/schema.ts';
import { CimError, ErrorNames } from '../errors.ts';
import type { KubeGateway } from '../gateways/kubernetes.ts';
import type { DiscoveredWorkload, WorkloadGateway } from '../gateways/workloads.ts';
import { LegacyState } from '../records/legacy-state.ts';
import type { Skip } from './kind.ts';
import { TARGET_KINDS } from './kinds.ts';
import type { Targets } from './targets.ts';

export const EXCLUDE_ANNOTATION = 'customer-infra-manager/exclude';

function lister(kube: KubeGateway): Pick<WorkloadGateway, 'listWorkloads'> {
  const k = kube as Partial<WorkloadGateway>;
  if (typeof k.listWorkloads !== 'function')
    throw new CimError(
      ErrorNames.ConfigInvalid,
      'this Kubernetes gateway cannot list workloads for "discover"',
    );
  return k as WorkloadGateway;
}

const healthUrl = (env: Environment, namespace: string, name: string) =>
  env.deployments.find((d) => d.name === name && d.namespace === namespace)?.healthUrl ?? null;

function toTargets(env: Environment, found: readonly Omit<DiscoveredWorkload, 'excluded'>[]): Targets {
  const seen = new Map<string, string>();
  for (const w of found) {
    // Records key each kind by name (k8s_deployments is legacy): one name per kind.
    const other = seen.get(`${w.kind}/${w.name}`);
    if (other !== undefined && other !== w.namespace)
      throw new CimError(
        ErrorNames.PreflightFailed,
        `discovery found ${w.kind} ${w.name} in namespaces ${other} and ${w.namespace}; records key workloads by name, so narrow discover.namespaces or discover.labelSelector (or exclude one with ${EXCLUDE_ANNOTATION}: "true"). Nothing was changed.`,
      );
    seen.set(`${w.kind}/${w.name}`, w.namespace);
  }
  return {
    deployments: found
      .filter((w) => w.kind === 'Deployment')
      .map((w) => ({ name: w.name, namespace: w.namespace, healthUrl: healthUrl(env, w.namespace, w.name) })),
    workloads: found
      .filter((w): w is typeof w & { kind: WorkloadTarget['kind'] } => w.kind !== 'Deployment')
      .map((w) => ({ kind: w.kind, name: w.name, namespace: w.namespace })),
  };
}

async function listAll(kube: KubeGateway, env: Environment): Promise<DiscoveredWorkload[]> {
  const d = env.discover;
  if (!d) return [];
  const out: DiscoveredWorkload[] = [];
  for (const ns of d.namespaces) out.push(...(await lister(kube).listWorkloads(ns, d.labelSelector)));
  return out.filter((w) => d.kinds.includes(w.kind));
}

/** Down, status, dry runs: what the rule finds now (excluded workloads are not targets). */
export async function discoverTargets(kube: KubeGateway, env: Environment): Promise<Targets> {
  const found = (await listAll(kube, env)).filter((w) => !w.excluded);
  if (found.length === 0) {
    const d = env.discover;
    throw new CimError(
      ErrorNames.PreflightFailed,
      `discovery found no workload of ${env.customer}/${env.environment} in namespace(s) ${d?.namespaces.join(', ')}${d?.labelSelector ? ` with labels "${d.labelSelector}"` : ''}: check discover in the configuration. Nothing was changed.`,
    );
  }
  return toTargets(env, found);
}

/** Up: exactly what the restore point recorded, in the namespaces the rule allows. */
export function targetsFromRecord(json: unknown, key: string, env: Environment): Targets {
  const parsed = LegacyState.safeParse(json);
  if (!parsed.success) return { deployments: env.deployments, workloads: env.workloads }; // validation reports it
  const rec = parsed.data;
  const allowed = new Set(env.discover?.namespaces ?? []);
  const found: Omit<DiscoveredWorkload, 'excluded'>[] = [
    ...Object.entries(rec.k8s_deployments).map(([name, d]) => ({
      kind: 'Deployment' as const,
      name,
      namespace: d.deployment_namespace,
    })),
    ...TARGET_KINDS.flatMap((k) =>
      Object.entries((rec[k.recordKey] ?? {}) as Record<string, unknown>).map(([name, l]) => ({
        kind: k.kind,
        name,
        namespace: k.namespaceOf(l),
      })),
    ),
  ];
  for (const w of found) {
    if (!allowed.has(w.namespace))
      throw new CimError(
        ErrorNames.StateRecordInvalid,
        `the restore point ${key} cannot be trusted: ${w.kind} ${w.name} is recorded in namespace "${w.namespace}", outside discover.namespaces (${[...allowed].join(', ')}). Nothing was changed.`,
      );
  }
  return toTargets(env, found);
}

/** Up: workloads the rule finds now that the restore point does not name, reported and left alone. */
export async function newSinceRestorePoint(
  kube: KubeGateway,
  env: Environment,
  recorded: Targets,
  fromBuild: string,
): Promise<Skip[]> {
  const known = new Set([
    ...recorded.deployments.map((d) => `Deployment/${d.namespace}/${d.name}`),
    ...recorded.workloads.map((w) => `${w.kind}/${w.namespace}/${w.name}`),
  ]);
  return (await listAll(kube, env))
    .filter((w) => !w.excluded && !known.has(`${w.kind}/${w.namespace}/${w.name}`))
    .map((w) => ({
      deployment: w.name,
      ...(w.kind === 'Deployment' ? {} : { kind: w.kind }),
      reason: `${w.kind} ${w.namespace}/${w.name} is not in the restore point of build ${fromBuild}, left as it is`,
    }));
}
