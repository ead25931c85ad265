// Owns the steps that change the environment: scale deployments to 0, start/stop the
// database, restore the recorded counts. Each fences the lock first and is safe to run
// again after any part of it already happened (a retried Task converges, it does not repeat).

import { type Deps, envOf, type RunContext, type ScaleChange } from '../contracts.ts';
import { databaseWait } from '../database/events.ts';
import { convergeDatabase, type DatabaseGoal } from '../database/rules.ts';
import { CimError, ErrorNames } from '../errors.ts';
import type { Skip } from '../workloads/kind.ts';
import { fence } from './fence.ts';
import { restoreDecision } from './plan.ts';

/** Scale deployments to zero; a missing deployment is reported and does not stop the others. */
export async function scaleDown(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const kube = deps.kube(env);
  const changes: ScaleChange[] = [];
  const skipped: Skip[] = [];
  for (const d of env.deployments) {
    const seen = ctx.preState.deployments.find((p) => p.name === d.name);
    if (!seen?.exists) {
      skipped.push({ deployment: d.name, reason: `deployment ${d.namespace}/${d.name} does not exist` });
      continue;
    }
    if (seen.replicas !== 0) {
      try {
        await kube.scaleDeployment(d.namespace, d.name, 0);
      } catch (err) {
        // Deleted since Prepare read it: report it, keep going with the others.
        if (!(await kube.readDeployment(d.namespace, d.name)).exists) {
          skipped.push({
            deployment: d.name,
            reason: `deployment ${d.namespace}/${d.name} was deleted during the run`,
          });
          continue;
        }
        throw err;
      }
    }
    changes.push({ deployment: d.name, namespace: d.namespace, from: seen.replicas, to: 0 });
  }
  for (const s of skipped) deps.log.warn('skipped deployment', { ...s });
  return { ...ctx, changes, skipped };
}

/** Start or stop: converge one step towards the goal (already there is not an error). */
export async function databaseAction(
  deps: Deps,
  ctx: RunContext,
  goal: DatabaseGoal,
  step: string,
): Promise<RunContext> {
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const { state, issued } = await convergeDatabase(deps.db(env), env.database, goal);
  deps.log.info(issued ? `${issued} issued` : `no ${goal === 'stopped' ? 'stop' : 'start'} needed`, {
    state: state.state,
  });
  return {
    ...ctx,
    database: { issued, stateBefore: state.state },
    // The database's deadline runs from here: an event wait that falls back to polling does
    // not restart it (the lock TTL check adds up the timeouts, not fallback + timeout).
    poll: {
      what: 'database',
      startedAt: deps.now().toISOString(),
      checks: 0,
      state: state.state ?? 'unknown',
      stable: false,
      elapsedSeconds: 0,
      waitSeconds: 0,
    },
    // Heading there (issued now, or by an earlier attempt): the wait may listen for the event.
    // A database moving the other way (starting during a down) sends the opposite event: the
    // poll loop waits for it to settle and then issues the action.
    databaseWait: databaseWait(
      deps,
      env,
      goal,
      issued !== null || state.state === (goal === 'stopped' ? 'stopping' : 'starting'),
    ),
  };
}

/** Restore the counts of the restore point; skip drifted, missing and unrecorded deployments, and say so. */
export async function restoreReplicas(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  if (!ctx.restore)
    throw new CimError(ErrorNames.RestorePointMissing, 'up has no restore point in its context');
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const kube = deps.kube(env);
  const changes: ScaleChange[] = [];
  const skipped: Skip[] = [];
  for (const d of env.deployments) {
    const now = await kube.readDeployment(d.namespace, d.name);
    const decision = restoreDecision(d, now, ctx.restore);
    if ('skip' in decision) {
      skipped.push({ deployment: d.name, reason: decision.skip });
      continue;
    }
    if (now.replicas !== decision.scaleTo) await kube.scaleDeployment(d.namespace, d.name, decision.scaleTo);
    changes.push({ deployment: d.name, namespace: d.namespace, from: now.replicas, to: decision.scaleTo });
  }
  for (const name of ctx.restore.notConfigured)
    skipped.push({
      deployment: name,
      reason: `in the restore point of build ${ctx.restore.fromBuild} but no longer configured`,
    });
  for (const s of skipped) deps.log.warn('skipped deployment', { ...s });
  return { ...ctx, changes, skipped };
}
