// Owns reading the whole state of an environment: deployments, database, app health (and,
// for the pre-state of a down of an environment with sleepingBackend, its Ingresses).
import { environmentNamespaces } from '../config/rbac.ts';
import type { Environment } from '../config/schema.ts';
import type { DatabaseGateway } from '../gateways/database.ts';
import type { HealthChecker } from '../gateways/health.ts';
import { ingressesOf } from '../gateways/ingresses.ts';
import type { KubeGateway } from '../gateways/kubernetes.ts';
import type { NodegroupGateway } from '../gateways/nodegroups.ts';
import { type IngressState, SLEEPING_ANNOTATION } from '../ingresses/rules.ts';
import type { DeploymentState, EnvironmentState } from '../records/legacy-state.ts';
import { legacyTimestamp } from '../records/legacy-state.ts';
import type { NodegroupState } from '../records/nodegroup-state.ts';
import { readWorkloads, wholeEnvironment } from '../workloads/snapshot.ts';

export interface SnapshotDeps {
  kube: KubeGateway;
  db: DatabaseGateway;
  /** Needed for environments with `nodegroups`. */
  nodegroups?: NodegroupGateway;
  health: HealthChecker;
  now: () => Date;
}

export async function readDeployments(deps: SnapshotDeps, env: Environment): Promise<DeploymentState[]> {
  return Promise.all(
    env.deployments.map(async (d) => {
      const s = await deps.kube.readDeployment(d.namespace, d.name);
      // Legacy meaning: "available" is "serving now", so a deployment at 0 replicas is not available.
      const available = s.exists && s.availableReplicas > 0 && s.availableCondition?.status === 'True';
      // With a health URL the URL decides (a deployment at 0 is not asked); without one, availability does.
      const appStatus: 'up' | 'down' = !d.healthUrl
        ? available
          ? 'up'
          : 'down'
        : s.exists && s.replicas > 0
          ? (await deps.health.check(d.healthUrl, env.healthTimeoutSeconds)).status
          : 'down';
      return {
        name: d.name,
        namespace: d.namespace,
        exists: s.exists,
        available,
        availableReason: available ? (s.availableCondition?.reason ?? null) : null,
        replicas: s.exists ? s.replicas : 0,
        appStatus,
        appUrl: d.healthUrl,
        ...(s.exists && s.requests ? { requests: s.requests } : {}),
      };
    }),
  );
}

async function readNodegroups(deps: SnapshotDeps, env: Environment): Promise<NodegroupState[]> {
  const gw = deps.nodegroups;
  if (!gw) throw new Error('internal: a snapshot of an environment with nodegroups needs EKS access');
  return Promise.all(
    env.nodegroups.map(async (name) => {
      const n = await gw.describe(env.cluster, name);
      return {
        name,
        cluster: env.cluster,
        exists: n.exists,
        status: n.status,
        minSize: n.scaling?.minSize ?? 0,
        maxSize: n.scaling?.maxSize ?? 0,
        desiredSize: n.scaling?.desiredSize ?? 0,
        ...(n.instanceTypes ? { instanceTypes: n.instanceTypes } : {}),
        ...(n.capacityType !== undefined ? { capacityType: n.capacityType } : {}),
      };
    }),
  );
}

/** Every Ingress of the environment's namespaces, its spec as read (environments with sleepingBackend). */
export async function readIngresses(kube: KubeGateway, env: Environment): Promise<IngressState[]> {
  const gw = ingressesOf(kube);
  const lists = await Promise.all(environmentNamespaces(env).map((ns) => gw.listIngresses(ns)));
  return lists.flat().map((i) => ({
    name: i.name,
    namespace: i.namespace,
    spec: i.spec,
    pointed: SLEEPING_ANNOTATION in i.annotations,
  }));
}

/**
 * `databaseMembers`: also read each Aurora member's class (one more RDS request), for the
 * pre-state the report reads its bill from; the post-state does without.
 */
export async function snapshotEnvironment(
  deps: SnapshotDeps,
  env: Environment,
  build: string,
  o: { databaseMembers?: boolean; ingresses?: boolean } = {},
): Promise<EnvironmentState> {
  const [deployments, workloads, database, nodegroups, ingresses] = await Promise.all([
    readDeployments(deps, env),
    readWorkloads(deps.kube, env),
    deps.db.describe(env.database, o.databaseMembers ? { members: true } : {}),
    env.nodegroups.length ? readNodegroups(deps, env) : Promise.resolve(null),
    // The pre-state of a down only: what the down points and the up restores (issue 19).
    o.ingresses && env.sleepingBackend ? readIngresses(deps.kube, env) : Promise.resolve(null),
  ]);
  return {
    deployments,
    ...(wholeEnvironment(env) ? { workloads } : {}),
    ...(nodegroups ? { nodegroups } : {}),
    ...(ingresses ? { ingresses } : {}),
    database,
    timestamp: legacyTimestamp(deps.now()),
    build,
  };
}
