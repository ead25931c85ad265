// Owns the "check" steps of the Wait/Choice loops: one look at the database, the scaled
// deployments or the health URLs, and the wait before the next look (polling.ts).

import { type Deps, envOf, type RunContext } from '../contracts.ts';
import { convergeDatabase, type DatabaseGoal, label } from '../database/rules.ts';
import { CimError, ErrorNames } from '../errors.ts';
import { deploymentSettled } from '../gateways/kubernetes.ts';
import { nextWaitSeconds, type Poll, pollStart } from '../waits.ts';
import { fence } from './fence.ts';

function timedOut(what: string, waited: number, last: string): CimError {
  return new CimError(
    ErrorNames.WaitTimedOut,
    `gave up waiting for ${what} after ${waited} s (last seen: ${last}); raise its waits.*.timeoutSeconds if this is normal, or investigate`,
  );
}

export function poll(
  deps: Deps,
  ctx: RunContext,
  what: Poll['what'],
  stable: boolean,
  state: string,
  wait: { expectedSeconds: number; timeoutSeconds: number },
  whatLabel: string,
): Poll {
  const now = deps.now();
  const { startedAt, checks } = pollStart(ctx.poll, what, now);
  const elapsed = Math.round((now.getTime() - startedAt.getTime()) / 1000);
  if (!stable && elapsed >= wait.timeoutSeconds) throw timedOut(whatLabel, elapsed, state);
  return {
    what,
    startedAt: startedAt.toISOString(),
    checks: checks + 1,
    state,
    stable,
    elapsedSeconds: elapsed,
    waitSeconds: stable ? 0 : nextWaitSeconds(elapsed, wait.expectedSeconds, wait.timeoutSeconds),
  };
}

/** Poll the database towards the goal of the run's action; re-issues start/stop if it drifted back. */
export async function checkDatabase(deps: Deps, ctx: RunContext, step: string): Promise<Poll> {
  const env = envOf(deps, ctx);
  const goal: DatabaseGoal = ctx.request.action === 'down' ? 'stopped' : 'available';
  const { state, issued } = await convergeDatabase(deps.db(env), env.database, goal, () =>
    fence(deps, ctx, step),
  );
  const wait = goal === 'stopped' ? env.waits.databaseStop : env.waits.databaseStart;
  const seen = issued ? `${state.state} (${issued} issued)` : (state.state ?? 'unknown');
  return poll(
    deps,
    ctx,
    'database',
    state.state === goal && !issued,
    seen,
    wait,
    `${label(env.database)} to be '${goal}'`,
  );
}

/** Poll the scaled deployments until each has exactly its new count: pods gone after a down, available after an up. */
export async function checkDeployments(deps: Deps, ctx: RunContext): Promise<Poll> {
  const env = envOf(deps, ctx);
  const kube = deps.kube(env);
  const pending: string[] = [];
  for (const c of ctx.changes ?? []) {
    const s = await kube.readDeployment(c.namespace, c.deployment);
    if (deploymentSettled(s)) continue;
    pending.push(
      c.to === 0
        ? `${c.deployment} (${s.currentReplicas} pods left)`
        : `${c.deployment} (${s.availableReplicas}/${s.replicas} available)`,
    );
  }
  const goal = ctx.request.action === 'down' ? 'stopped' : 'available';
  const state = pending.length ? `waiting for ${pending.join(', ')}` : `all ${goal}`;
  return poll(
    deps,
    ctx,
    'deployments',
    pending.length === 0,
    state,
    env.waits.deployments,
    `deployments to be ${goal}`,
  );
}

/** Poll the health URLs of the restored deployments until every one answers. */
export async function checkHealth(deps: Deps, ctx: RunContext): Promise<Poll> {
  const env = envOf(deps, ctx);
  const urls = env.deployments
    .filter((d) => d.healthUrl && (ctx.changes ?? []).some((c) => c.deployment === d.name && c.to > 0))
    .map((d) => d.healthUrl as string);
  const results = await Promise.all(urls.map((u) => deps.health.check(u, env.healthTimeoutSeconds)));
  const down = results.filter((r) => r.status !== 'up');
  const state = down.length
    ? `not answering: ${down.map((r) => `${r.url} (${r.httpStatus ?? r.error})`).join(', ')}`
    : `${results.length} URL(s) answering`;
  return poll(deps, ctx, 'health', down.length === 0, state, env.waits.health, 'health URLs to answer');
}
