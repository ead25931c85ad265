// Owns the restore decision for one deployment (shared by up and its dry run, so the plan
// cannot drift from what up does) and the dry-run plan, returned as data that the CLI
// renders.

import { type Deps, envOf, type RunContext } from '../contracts.ts';
import { label } from '../database/rules.ts';
import type { NodegroupScaling } from '../gateways/nodegroups.ts';
import { ingressRecordBuild } from '../ingresses/rules.ts';
import { sameScaling, scaledDown } from '../nodegroups/rules.ts';
import type { Action } from '../records/legacy-state.ts';
import type { RestorePoint } from '../records/restore-point.ts';
import type { AnyTargetKind, PlannedWorkload } from '../workloads/kind.ts';
import { restoredOf, TARGET_KINDS, type WorkloadState } from '../workloads/kinds.ts';

/**
 * What `up` does with one deployment: restore only what was recorded, and only when it is
 * still at the 0 the down left; anything else is left as it is and reported.
 */
export function restoreDecision(
  target: { name: string; namespace: string },
  now: { exists: boolean; replicas: number },
  restore: RestorePoint,
): { scaleTo: number } | { skip: string } {
  const want = restore.replicas[target.name];
  if (!now.exists) return { skip: `deployment ${target.namespace}/${target.name} does not exist` };
  if (want === undefined)
    return { skip: `not in the restore point of build ${restore.fromBuild}; left at ${now.replicas}` };
  if (now.replicas !== 0 && now.replicas !== want) {
    return { skip: `changed while down (now ${now.replicas}, recorded ${want}); left as it is` };
  }
  return { scaleTo: want };
}

export type PlannedChange =
  | { kind: 'scale'; namespace: string; deployment: string; from: number; to: number; fromBuild?: string }
  | { kind: 'skip'; namespace: string; deployment: string; reason: string }
  | {
      kind: 'database';
      database: string;
      state: string | null;
      goal: 'stopped' | 'available';
      needed: boolean;
    }
  | PlannedWorkload
  | {
      kind: 'nodegroup';
      cluster: string;
      name: string;
      from: NodegroupScaling;
      to: NodegroupScaling | null;
      reason?: string;
    }
  | {
      /** Environments with sleepingBackend (issue 19): down points it, up gives its recorded spec back. */
      kind: 'ingress';
      namespace: string;
      name: string;
      /** Down: the sleeping Service ("name:port"); up: the build whose record it gets back. */
      to: { sleeping: string } | { fromBuild: string };
      /** Set when it is left as it is: why. */
      reason?: string;
    }
  | { kind: 'wait'; for: 'deployments' | NonNullable<AnyTargetKind['waitFor']> | 'health' }
  | { kind: 'read-only' };

export interface DryRunPlan {
  dryRun: true;
  action: Action;
  environment: string;
  build: string;
  restoreFromBuild: string | null;
  /** The run holding the lock now, if any: the real run would be refused until it ends. */
  lockedBy: string | null;
  plan: PlannedChange[];
}

type EnvironmentState = RunContext['preState'];

/** The kinds of a phase (kinds.ts), each followed by the wait for its changes if it has one. */
function planKinds(
  plan: PlannedChange[],
  workloads: WorkloadState[],
  phase: AnyTargetKind['phase'],
  line: (k: AnyTargetKind, w: WorkloadState) => PlannedWorkload | undefined,
): void {
  for (const k of TARGET_KINDS.filter((x) => x.phase === phase)) {
    const mine = workloads.filter((w) => w.kind === k.kind);
    if (mine.length === 0 && k.waitFor) continue;
    for (const w of mine) {
      const p = line(k, w);
      if (p) plan.push(p);
    }
    if (k.waitFor) plan.push({ kind: 'wait', for: k.waitFor });
  }
}

/** Each existing node group, from its scaling now to `to`'s (or the reason it is left). */
function planNodegroups(
  plan: PlannedChange[],
  pre: EnvironmentState,
  to: (now: NodegroupScaling, name: string) => NodegroupScaling | string,
): void {
  for (const n of pre.nodegroups ?? []) {
    if (!n.exists) continue;
    const now = { minSize: n.minSize, maxSize: n.maxSize, desiredSize: n.desiredSize };
    const goal = to(now, n.name);
    plan.push(
      typeof goal === 'string'
        ? { kind: 'nodegroup', cluster: n.cluster, name: n.name, from: now, to: null, reason: goal }
        : { kind: 'nodegroup', cluster: n.cluster, name: n.name, from: now, to: goal },
    );
  }
}

const planDatabase = (
  database: string,
  pre: EnvironmentState,
  goal: 'stopped' | 'available',
): PlannedChange => ({
  kind: 'database',
  database,
  state: pre.database.state,
  goal,
  needed: pre.database.state !== goal,
});

/** Down, in the order the workflow runs it: outer kinds, deployments, inner kinds, database, node groups. */
function planDown(
  plan: PlannedChange[],
  pre: EnvironmentState,
  database: string,
  sleeping: { service: string; port: number } | null,
): void {
  const workloads = pre.workloads ?? [];
  for (const i of sleeping ? (pre.ingresses ?? []) : [])
    plan.push({
      kind: 'ingress',
      namespace: i.namespace,
      name: i.name,
      to: { sleeping: `${sleeping?.service}:${sleeping?.port}` },
      ...(i.pointed ? { reason: 'already pointed at the sleeping backend by an earlier down' } : {}),
    });
  planKinds(plan, workloads, 'outer', (k, w) => k.planDown(w));
  for (const d of pre.deployments) {
    plan.push(
      d.exists
        ? { kind: 'scale', namespace: d.namespace, deployment: d.name, from: d.replicas, to: 0 }
        : { kind: 'skip', namespace: d.namespace, deployment: d.name, reason: 'does not exist' },
    );
  }
  plan.push({ kind: 'wait', for: 'deployments' });
  planKinds(plan, workloads, 'inner', (k, w) => k.planDown(w));
  plan.push(planDatabase(database, pre, 'stopped'));
  planNodegroups(plan, pre, (now) => scaledDown(now));
}

/** Up, in the order the workflow runs it: node groups, database, inner kinds, deployments, outer kinds. */
function planUp(
  plan: PlannedChange[],
  pre: EnvironmentState,
  database: string,
  restore: RestorePoint,
  ingressesFrom: string,
): void {
  const workloads = pre.workloads ?? [];
  // The same rule as the Task: only from the 0/0 the down left (or already restored).
  planNodegroups(plan, pre, (now, name) => {
    const want = restore.nodegroups?.[name];
    if (!want) return 'not in the restore point';
    return (now.minSize === 0 && now.desiredSize === 0) || sameScaling(now, want)
      ? want
      : 'changed while down';
  });
  plan.push(planDatabase(database, pre, 'available'));
  const up = (k: AnyTargetKind, w: WorkloadState) => k.planUp(w, restoredOf(restore.workloads, k)[w.name]);
  planKinds(plan, workloads, 'inner', up);
  for (const d of pre.deployments) {
    const decision = restoreDecision(d, d, restore);
    plan.push(
      'skip' in decision
        ? { kind: 'skip', namespace: d.namespace, deployment: d.name, reason: decision.skip }
        : {
            kind: 'scale',
            namespace: d.namespace,
            deployment: d.name,
            from: d.replicas,
            to: decision.scaleTo,
            fromBuild: restore.fromBuild,
          },
    );
  }
  plan.push({ kind: 'wait', for: 'deployments' });
  for (const i of restore.ingresses ?? [])
    plan.push({
      kind: 'ingress',
      namespace: i.namespace,
      name: i.name,
      to: { fromBuild: ingressesFrom },
      ...(i.pointed ? { reason: 'recorded already pointed at the sleeping backend' } : {}),
    });
  plan.push({ kind: 'wait', for: 'health' });
  planKinds(plan, workloads, 'outer', up);
}

/** Dry run: what down or up would change, from the state Prepare read. */
export function planDryRun(deps: Deps, ctx: RunContext): DryRunPlan {
  const env = envOf(deps, ctx);
  const plan: PlannedChange[] = [];
  const database = label(env.database);
  if (ctx.request.action === 'down') planDown(plan, ctx.preState, database, env.sleepingBackend);
  else if (ctx.request.action === 'up' && ctx.restore)
    // The Ingresses come from the down that pointed them, whatever build the counts come from.
    planUp(
      plan,
      ctx.preState,
      database,
      ctx.restore,
      ctx.previous ? ingressRecordBuild(ctx.previous) : ctx.restore.fromBuild,
    );
  else plan.push({ kind: 'read-only' });
  const h = ctx.holder;
  return {
    dryRun: true,
    action: ctx.request.action,
    environment: `${env.customer}/${env.environment}`,
    build: ctx.request.build,
    restoreFromBuild: ctx.restore?.fromBuild ?? null,
    lockedBy: h
      ? `${h.action ?? '?'} build ${h.build ?? '?'} by ${h.user ?? '?'} (step "${h.step ?? '?'}")`
      : null,
    plan,
  };
}
