// Owns the changes and polls of StatefulSets and CronJobs, one phase each (README "Order"):
// down suspends CronJobs first and scales StatefulSets after the deployments; up brings
// StatefulSets back before the deployments and resumes CronJobs last. Like changes.ts, every
// step fences the lock first, decides from the recorded state (never from what an earlier
// attempt already changed), and is safe to run again.

import { type Deps, envOf, type RunContext, type Skip, type WorkloadChange } from '../contracts.ts';
import { CimError, ErrorNames } from '../errors.ts';
import {
  statefulSetSettled,
  type WorkloadGateway,
  workloadLabel,
  workloadsOf,
} from '../gateways/workloads.ts';
import type { CronJobState, StatefulSetState } from '../records/workload-state.ts';
import { fence } from '../run/fence.ts';
import { poll } from '../run/polls.ts';
import { type Poll, pollStart } from '../waits.ts';

const recorded = <K extends 'StatefulSet' | 'CronJob'>(ctx: RunContext, kind: K) =>
  (ctx.preState.workloads ?? []).filter((w) => w.kind === kind) as (K extends 'StatefulSet'
    ? StatefulSetState
    : CronJobState)[];

function finish(deps: Deps, ctx: RunContext, changes: WorkloadChange[], skipped: Skip[]): RunContext {
  for (const s of skipped) deps.log.warn('skipped workload', { ...s });
  return {
    ...ctx,
    workloadChanges: [...(ctx.workloadChanges ?? []), ...changes],
    workloadSkipped: [...(ctx.workloadSkipped ?? []), ...skipped],
  };
}

/** Runs `change`; if it fails because the workload was deleted meanwhile, reports that instead. */
async function orGone(
  change: () => Promise<void>,
  exists: () => Promise<boolean>,
  skipped: Skip[],
  w: { kind: 'StatefulSet' | 'CronJob'; name: string; namespace: string },
): Promise<boolean> {
  try {
    await change();
    return true;
  } catch (err) {
    if (await exists()) throw err;
    skipped.push({
      deployment: w.name,
      kind: w.kind,
      reason: `${workloadLabel(w)} was deleted during the run`,
    });
    return false;
  }
}

const missing = (w: { kind: 'StatefulSet' | 'CronJob'; name: string; namespace: string }): Skip => ({
  deployment: w.name,
  kind: w.kind,
  reason: `${workloadLabel(w)} does not exist`,
});

function gateway(deps: Deps, ctx: RunContext): WorkloadGateway {
  return workloadsOf(deps.kube(envOf(deps, ctx)));
}

/** Down, first phase: suspend every recorded CronJob, so nothing starts against a stopping environment. */
export async function suspendCronJobs(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  await fence(deps, ctx, step);
  const jobs = recorded(ctx, 'CronJob');
  if (jobs.length === 0) return finish(deps, ctx, [], []);
  const gw = gateway(deps, ctx);
  const changes: WorkloadChange[] = [];
  const skipped: Skip[] = [];
  for (const c of jobs) {
    if (!c.exists) {
      skipped.push(missing(c));
      continue;
    }
    const ok = await orGone(
      () => gw.setCronJobSuspend(c.namespace, c.name, true),
      async () => (await gw.readCronJob(c.namespace, c.name)).exists,
      skipped,
      c,
    );
    if (ok)
      changes.push({ kind: 'CronJob', name: c.name, namespace: c.namespace, from: c.suspend, to: true });
  }
  return finish(deps, ctx, changes, skipped);
}

/** Down, after the deployments: scale every recorded StatefulSet to 0. */
export async function scaleStatefulSetsDown(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  await fence(deps, ctx, step);
  const sets = recorded(ctx, 'StatefulSet');
  if (sets.length === 0) return finish(deps, ctx, [], []);
  const gw = gateway(deps, ctx);
  const changes: WorkloadChange[] = [];
  const skipped: Skip[] = [];
  for (const s of sets) {
    if (!s.exists) {
      skipped.push(missing(s));
      continue;
    }
    const ok =
      s.replicas === 0 ||
      (await orGone(
        () => gw.scaleStatefulSet(s.namespace, s.name, 0),
        async () => (await gw.readStatefulSet(s.namespace, s.name)).exists,
        skipped,
        s,
      ));
    if (ok)
      changes.push({ kind: 'StatefulSet', name: s.name, namespace: s.namespace, from: s.replicas, to: 0 });
  }
  return finish(deps, ctx, changes, skipped);
}

function restoreOf(ctx: RunContext) {
  if (!ctx.restore)
    throw new CimError(ErrorNames.RestorePointMissing, 'up has no restore point in its context');
  return ctx.restore;
}

/** Up, after the database: bring each StatefulSet back to its recorded count (only from the 0 the down left). */
export async function restoreStatefulSets(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  const restore = restoreOf(ctx);
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const targets = env.workloads.filter((w) => w.kind === 'StatefulSet');
  if (targets.length === 0) return finish(deps, ctx, [], []);
  const gw = gateway(deps, ctx);
  const changes: WorkloadChange[] = [];
  const skipped: Skip[] = [];
  for (const t of targets) {
    const now = await gw.readStatefulSet(t.namespace, t.name);
    const want = restore.workloads?.statefulSets[t.name];
    const skip = (reason: string) => skipped.push({ deployment: t.name, kind: t.kind, reason });
    if (!now.exists) skip(`${workloadLabel(t)} does not exist`);
    else if (want === undefined)
      skip(`not in the restore point of build ${restore.fromBuild}, left as it is (at ${now.replicas})`);
    else if (now.replicas !== 0 && now.replicas !== want)
      skip(`changed while down (now ${now.replicas}, recorded ${want}); left as it is`);
    else {
      if (now.replicas !== want) await gw.scaleStatefulSet(t.namespace, t.name, want);
      changes.push({
        kind: 'StatefulSet',
        name: t.name,
        namespace: t.namespace,
        from: now.replicas,
        to: want,
      });
    }
  }
  return finish(deps, ctx, changes, skipped);
}

/** Up, last phase: give each CronJob back the suspend flag recorded before the down. */
export async function resumeCronJobs(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  const restore = restoreOf(ctx);
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const targets = env.workloads.filter((w) => w.kind === 'CronJob');
  const changes: WorkloadChange[] = [];
  const skipped: Skip[] = [];
  const gw = targets.length ? gateway(deps, ctx) : null;
  for (const t of targets) {
    const now = await (gw as WorkloadGateway).readCronJob(t.namespace, t.name);
    const want = restore.workloads?.cronJobs[t.name];
    if (!now.exists) skipped.push(missing(t));
    else if (want === undefined)
      skipped.push({
        deployment: t.name,
        kind: t.kind,
        reason: `not in the restore point of build ${restore.fromBuild}, left as it is (suspend ${now.suspend})`,
      });
    else {
      if (now.suspend !== want) await (gw as WorkloadGateway).setCronJobSuspend(t.namespace, t.name, want);
      changes.push({ kind: 'CronJob', name: t.name, namespace: t.namespace, from: now.suspend, to: want });
    }
  }
  for (const name of restore.workloads?.notConfigured ?? [])
    skipped.push({
      deployment: name.replace(/^\S+ /, ''),
      kind: name.startsWith('CronJob') ? 'CronJob' : 'StatefulSet',
      reason: `in the restore point of build ${restore.fromBuild} but no longer configured`,
    });
  return finish(deps, ctx, changes, skipped);
}

/**
 * Poll the StatefulSets this run scaled: pods gone after a down, ready at the count after an
 * up. On a down it also waits, up to `jobsGraceSeconds`, for Jobs that suspended CronJobs
 * still run; past that they are left running and show in the post-state (cronjob_active_jobs).
 */
export async function checkStatefulSets(deps: Deps, ctx: RunContext): Promise<Poll> {
  const env = envOf(deps, ctx);
  const changed = ctx.workloadChanges ?? [];
  const pending: string[] = [];
  const notes: string[] = [];
  if (changed.length) {
    const gw = gateway(deps, ctx);
    for (const c of changed) {
      if (c.kind !== 'StatefulSet') continue;
      const s = await gw.readStatefulSet(c.namespace, c.name);
      if (statefulSetSettled(s)) continue;
      pending.push(
        c.to === 0
          ? `${c.name} (${s.podCount} pods left)`
          : `${c.name} (${s.readyReplicas}/${s.replicas} ready)`,
      );
    }
    if (ctx.request.action === 'down') {
      const { startedAt } = pollStart(ctx.poll, 'statefulsets', deps.now());
      const graceOver = (deps.now().getTime() - startedAt.getTime()) / 1000 >= env.jobsGraceSeconds;
      for (const c of changed) {
        if (c.kind !== 'CronJob') continue;
        const running = (await gw.readCronJob(c.namespace, c.name)).activeJobs;
        if (running === 0) continue;
        const what = `CronJob ${c.name} (${running} Job(s) running)`;
        if (graceOver) notes.push(`${what} left running after ${env.jobsGraceSeconds} s`);
        else pending.push(what);
      }
    }
  }
  const goal = ctx.request.action === 'down' ? 'stopped' : 'ready';
  const state = pending.length
    ? `waiting for ${pending.join(', ')}`
    : `all ${goal}${notes.length ? `; ${notes.join(', ')}` : ''}`;
  return poll(
    deps,
    ctx,
    'statefulsets',
    pending.length === 0,
    state,
    env.waits.deployments,
    `StatefulSets to be ${goal}`,
  );
}

/** Down, before any scale: pause every recorded ScaledObject at 0, so KEDA does not scale its target back up. */
export async function pauseScaledObjects(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  await fence(deps, ctx, step);
  const objects = (ctx.preState.workloads ?? []).filter((w) => w.kind === 'ScaledObject');
  if (objects.length === 0) return ctx;
  const gw = gateway(deps, ctx);
  const skipped: Skip[] = [];
  for (const o of objects) {
    try {
      await gw.setPausedReplicas(o.namespace, o.name, '0');
    } catch (err) {
      if ((await gw.listScaledObjects(o.namespace)).some((x) => x.name === o.name)) throw err;
      skipped.push({
        deployment: o.name,
        reason: `ScaledObject ${o.namespace}/${o.name} was deleted during the run`,
      });
    }
  }
  return finish(deps, ctx, [], skipped);
}

/** Up, before any scale: give each recorded ScaledObject its paused-replicas annotation back exactly (or none). */
export async function restoreScaledObjects(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  const restore = restoreOf(ctx);
  await fence(deps, ctx, step);
  const recordedObjects = Object.entries(restore.workloads?.scaledObjects ?? {});
  if (recordedObjects.length === 0) return ctx;
  const gw = gateway(deps, ctx);
  const skipped: Skip[] = [];
  for (const [name, o] of recordedObjects) {
    const now = (await gw.listScaledObjects(o.namespace)).find((x) => x.name === name);
    if (!now) {
      skipped.push({ deployment: name, reason: `ScaledObject ${o.namespace}/${name} does not exist` });
      continue;
    }
    if (now.pausedReplicas !== o.pausedReplicas)
      await gw.setPausedReplicas(o.namespace, name, o.pausedReplicas);
  }
  return finish(deps, ctx, [], skipped);
}
