// Owns the node group phases (docs/configuration.md "EKS node groups"): down sets each node group to
// min 0 / desired 0 (max kept) after the database, last; up gives the recorded scaling
// config back first and waits until each node group is ACTIVE with it and its desired
// nodes are Ready in Kubernetes. Like the database steps, a Task issues the change and its
// poll converges (re-issues it if the node group was busy), each fenced by the lock and
// decided from the recorded state, so a retried or crashed Task converges.

import type { Environment } from '../config/schema.ts';
import { type Deps, envOf, type RunContext } from '../contracts.ts';
import { CimError, ErrorNames } from '../errors.ts';
import type { NodeLister } from '../gateways/kubernetes.ts';
import type { NodegroupScaling } from '../gateways/nodegroups.ts';
import { fence } from '../run/fence.ts';
import { poll } from '../run/polls.ts';
import type { Poll } from '../waits.ts';
import type { Skip } from '../workloads/kind.ts';
import { NODEGROUP_LABEL, nodegroupInError, nodegroupLabel, sameScaling, scaledDown } from './rules.ts';

type Goal = { name: string } & NodegroupScaling;

const describeGoal = (g: NodegroupScaling) => `min ${g.minSize}, desired ${g.desiredSize}, max ${g.maxSize}`;

/** One step towards the goal: update when the node group is idle and elsewhere; false while busy. */
async function converge(deps: Deps, ctx: RunContext, env: Environment, goal: Goal, step: string) {
  const gw = deps.nodegroups(env);
  const now = await gw.describe(env.cluster, goal.name);
  const what = nodegroupLabel(env.cluster, goal.name);
  if (!now.exists)
    throw new CimError(ErrorNames.NodegroupActionFailed, `${what} does not exist any more; check it in EKS`);
  if (nodegroupInError(now.status))
    throw new CimError(
      ErrorNames.NodegroupActionFailed,
      `${what} is in state ${now.status}; fix it in the EKS console, then run again`,
    );
  let issued = false;
  if (!sameScaling(now.scaling, goal) && (now.status === 'ACTIVE' || now.status === 'DEGRADED')) {
    await fence(deps, ctx, step);
    const { minSize, maxSize, desiredSize } = goal;
    issued = await gw.update(env.cluster, goal.name, { minSize, maxSize, desiredSize });
  }
  return { now, issued };
}

/** Down, after the database: min 0 / desired 0 / max kept, for every node group that existed. */
export async function scaleNodegroupsDown(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const goals: Goal[] = (ctx.preState.nodegroups ?? [])
    .filter((n) => n.exists)
    .map((n) => ({ name: n.name, ...scaledDown(n) }));
  for (const g of goals) await converge(deps, ctx, env, g, step);
  return { ...ctx, nodegroupGoals: goals };
}

/**
 * Up, first: the recorded scaling config, for node groups still at the 0 the down left (or
 * already at the recorded config); one changed while down is left as it is and reported.
 */
export async function restoreNodegroups(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  if (!ctx.restore)
    throw new CimError(ErrorNames.RestorePointMissing, 'up has no restore point in its context');
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const recorded = ctx.restore.nodegroups ?? {};
  const goals: Goal[] = [];
  const skipped: Skip[] = [];
  for (const name of env.nodegroups) {
    const want = recorded[name];
    const what = nodegroupLabel(env.cluster, name);
    if (!want) {
      skipped.push({
        deployment: name,
        reason: `${what} is not in the restore point of build ${ctx.restore.fromBuild}, left as it is`,
      });
      continue;
    }
    const now = await deps.nodegroups(env).describe(env.cluster, name);
    const s = now.scaling;
    const leftByDown = s !== null && s.minSize === 0 && s.desiredSize === 0;
    if (s && !leftByDown && !sameScaling(s, want)) {
      skipped.push({
        deployment: name,
        reason: `${what} changed while down (now ${describeGoal(s)}, recorded ${describeGoal(want)}); left as it is`,
      });
      continue;
    }
    goals.push({ name, ...want });
  }
  for (const g of goals) await converge(deps, ctx, env, g, step);
  for (const s of skipped) deps.log.warn('skipped node group', { ...s });
  return { ...ctx, nodegroupGoals: goals, workloadSkipped: [...(ctx.workloadSkipped ?? []), ...skipped] };
}

export function nodeLister(deps: Deps, env: Environment): NodeLister {
  const k = deps.kube(env) as Partial<NodeLister>;
  if (typeof k.listNodes !== 'function')
    throw new CimError(
      ErrorNames.ConfigInvalid,
      'this Kubernetes gateway cannot list nodes for "nodegroups"',
    );
  return k as NodeLister;
}

/**
 * Poll the node groups this run changed: ACTIVE (not UPDATING) with the goal's scaling config
 * (re-issued if the node group was busy when the Task ran), and after an up its desired number
 * of nodes labelled eks.amazonaws.com/nodegroup=<name> Ready in Kubernetes.
 */
export async function checkNodegroups(deps: Deps, ctx: RunContext, step: string): Promise<Poll> {
  const env = envOf(deps, ctx);
  const up = ctx.request.action === 'up';
  const pending: string[] = [];
  for (const g of ctx.nodegroupGoals ?? []) {
    const { now, issued } = await converge(deps, ctx, env, g, step);
    if (issued || !sameScaling(now.scaling, g)) {
      pending.push(`${g.name} (${now.status}${issued ? ', update issued' : ''})`);
      continue;
    }
    if (now.status !== 'ACTIVE') {
      pending.push(`${g.name} (${now.status}${now.issues.length ? `: ${now.issues.join('; ')}` : ''})`);
      continue;
    }
    if (up && g.desiredSize > 0) {
      const nodes = await nodeLister(deps, env).listNodes(`${NODEGROUP_LABEL}=${g.name}`);
      const ready = nodes.filter((n) => n.ready).length;
      if (ready < g.desiredSize) pending.push(`${g.name} (${ready}/${g.desiredSize} nodes Ready)`);
    }
  }
  const goal = up ? 'ready' : 'scaled down';
  const n = ctx.nodegroupGoals?.length ?? 0;
  const state = pending.length ? `waiting for ${pending.join(', ')}` : `${n} node group(s) ${goal}`;
  return poll(
    deps,
    ctx,
    'nodegroups',
    pending.length === 0,
    state,
    env.waits.nodegroups,
    `node groups to be ${goal}`,
  );
}
