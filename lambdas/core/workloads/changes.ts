// Owns the steps and polls of the workload kinds other than Deployments (kinds.ts), one
// phase each (docs/configuration.md "Order"): down suspends CronJobs first and scales StatefulSets after the
// deployments; up brings StatefulSets back before the deployments and resumes CronJobs last.
// Like run/changes.ts, every step fences the lock first, decides from the recorded state
// (never from what an earlier attempt already changed), and is safe to run again. The
// builders take a kind: a kind with steps of its own gets them from here.

import { type Deps, envOf, type RunContext, type WorkloadChange } from '../contracts.ts';
import { CimError, ErrorNames } from '../errors.ts';
import { type WorkloadGateway, workloadsOf } from '../gateways/workloads.ts';
import { fence } from '../run/fence.ts';
import { poll } from '../run/polls.ts';
import { type Poll, pollStart } from '../waits.ts';
import { autoscalers, hpaActive } from './autoscalers.ts';
import { cronJobs } from './cronjobs.ts';
import { scaledObjects } from './keda.ts';
import type { AnyAttachedKind, AnyKind, AnyTargetKind, KindState, Skip } from './kind.ts';
import { restoredOf, TARGET_KINDS, targetKindOf, workloadLabel } from './kinds.ts';
import { statefulSets } from './statefulsets.ts';

type Step = (deps: Deps, ctx: RunContext, step: string) => Promise<RunContext>;

const recorded = (ctx: RunContext, kind: AnyKind) =>
  (ctx.preState.workloads ?? []).filter((w) => w.kind === kind.kind);

function finish(deps: Deps, ctx: RunContext, changes: WorkloadChange[], skipped: Skip[]): RunContext {
  for (const s of skipped) deps.log.warn('skipped workload', { ...s });
  return {
    ...ctx,
    workloadChanges: [...(ctx.workloadChanges ?? []), ...changes],
    workloadSkipped: [...(ctx.workloadSkipped ?? []), ...skipped],
  };
}

type Named = { kind: string; name: string; namespace: string };

const skip = (w: Named, reason: string): Skip => ({
  deployment: w.name,
  kind: w.kind as NonNullable<Skip['kind']>,
  reason,
});

const missing = (w: Named): Skip => skip(w, `${workloadLabel(w)} does not exist`);

/** Runs `change`; if it fails because the workload was deleted meanwhile, reports that instead. */
async function orGone(
  change: () => Promise<void>,
  exists: () => Promise<boolean>,
  skipped: Skip[],
  w: Named,
): Promise<boolean> {
  try {
    await change();
    return true;
  } catch (err) {
    if (await exists()) throw err;
    skipped.push(skip(w, `${workloadLabel(w)} was deleted during the run`));
    return false;
  }
}

function gateway(deps: Deps, ctx: RunContext): WorkloadGateway {
  return workloadsOf(deps.kube(envOf(deps, ctx)));
}

function restoreOf(ctx: RunContext) {
  if (!ctx.restore)
    throw new CimError(ErrorNames.RestorePointMissing, 'up has no restore point in its context');
  return ctx.restore;
}

const change = (kind: AnyTargetKind, w: Named, from: unknown, to: unknown) =>
  ({ kind: kind.kind, name: w.name, namespace: w.namespace, from, to }) as WorkloadChange;

/** Down: the kind's change (scale to 0, suspend) to every recorded object of a target kind. */
export function downStep(kind: AnyTargetKind): Step {
  return async (deps, ctx, step) => {
    await fence(deps, ctx, step);
    const objects = recorded(ctx, kind);
    if (objects.length === 0) return finish(deps, ctx, [], []);
    const gw = gateway(deps, ctx);
    const changes: WorkloadChange[] = [];
    const skipped: Skip[] = [];
    for (const s of objects) {
      if (!s.exists) {
        skipped.push(missing(s));
        continue;
      }
      const { to, apply } = kind.down(s);
      const ok =
        apply === null ||
        (await orGone(
          () => apply(gw),
          async () => ((await kind.read(gw, s)) as KindState).exists,
          skipped,
          s,
        ));
      if (ok) changes.push(change(kind, s, kind.valueOf(s), to));
    }
    return finish(deps, ctx, changes, skipped);
  };
}

/**
 * Up: give each configured target of the kind back what the restore point recorded (only
 * from what the down left). The last up step also reports the recorded targets that are no
 * longer configured.
 */
export function upStep(kind: AnyTargetKind, opts: { reportNotConfigured: boolean }): Step {
  return async (deps, ctx, step) => {
    const restore = restoreOf(ctx);
    await fence(deps, ctx, step);
    const env = envOf(deps, ctx);
    const targets = env.workloads.filter((w) => w.kind === kind.kind);
    if (targets.length === 0 && !opts.reportNotConfigured) return finish(deps, ctx, [], []);
    const recordedValues = restoredOf(restore.workloads, kind);
    const changes: WorkloadChange[] = [];
    const skipped: Skip[] = [];
    const gw = targets.length ? gateway(deps, ctx) : null;
    for (const t of targets) {
      const now = await kind.read(gw as WorkloadGateway, t);
      const want = recordedValues[t.name];
      const conflict = now.exists && want !== undefined ? kind.upConflict?.(now, want) : undefined;
      if (!now.exists) skipped.push(missing(t));
      else if (want === undefined)
        skipped.push(
          skip(
            t,
            `not in the restore point of build ${restore.fromBuild}, left as it is (${kind.describeNow(now)})`,
          ),
        );
      else if (conflict !== undefined) skipped.push(skip(t, conflict));
      else {
        const from = kind.valueOf(now);
        if (from !== want) await kind.apply(gw as WorkloadGateway, t, want);
        changes.push(change(kind, t, from, want));
      }
    }
    if (opts.reportNotConfigured)
      for (const name of restore.workloads?.notConfigured ?? [])
        skipped.push({
          deployment: name.replace(/^\S+ /, ''),
          kind: TARGET_KINDS.find((k) => name.startsWith(`${k.kind} `))?.kind as NonNullable<Skip['kind']>,
          reason: `in the restore point of build ${restore.fromBuild} but no longer configured`,
        });
    return finish(deps, ctx, changes, skipped);
  };
}

/** Down, before any scale: an attached kind's own change (KEDA: pause). */
export function pauseStep(kind: AnyAttachedKind): Step {
  return async (deps, ctx, step) => {
    await fence(deps, ctx, step);
    const objects = recorded(ctx, kind);
    if (objects.length === 0 || !kind.pause) return ctx;
    const gw = gateway(deps, ctx);
    const skipped: Skip[] = [];
    await kind.pause(gw, objects, skipped);
    return finish(deps, ctx, [], skipped);
  };
}

/** Up, before any scale: give an attached kind back what the restore point recorded (KEDA: the annotation). */
export function restoreStep(kind: AnyAttachedKind): Step {
  return async (deps, ctx, step) => {
    const restore = restoreOf(ctx);
    await fence(deps, ctx, step);
    const recordedValues = restoredOf(restore.workloads, kind);
    if (Object.keys(recordedValues).length === 0 || !kind.restore) return ctx;
    const gw = gateway(deps, ctx);
    const skipped: Skip[] = [];
    await kind.restore(gw, recordedValues, skipped);
    return finish(deps, ctx, [], skipped);
  };
}

/** Down, first phase: suspend every recorded CronJob, so nothing starts against a stopping environment. */
export const suspendCronJobs = downStep(cronJobs);
/** Down, after the deployments: scale every recorded StatefulSet to 0. */
export const scaleStatefulSetsDown = downStep(statefulSets);
/** Up, after the database: bring each StatefulSet back to its recorded count (only from the 0 the down left). */
export const restoreStatefulSets = upStep(statefulSets, { reportNotConfigured: false });
/** Up, last phase: give each CronJob back the suspend flag recorded before the down. */
export const resumeCronJobs = upStep(cronJobs, { reportNotConfigured: true });
/** Down, before any scale: pause every recorded ScaledObject at 0, so KEDA does not scale its target back up. */
export const pauseScaledObjects = pauseStep(scaledObjects);
/** Up, before any scale: give each recorded ScaledObject its paused-replicas annotation back exactly (or none). */
export const restoreScaledObjects = restoreStep(scaledObjects);

/**
 * Poll the targets this run changed: StatefulSets' pods gone after a down, ready at the
 * count after an up. On a down it also waits, up to `jobsGraceSeconds`, for Jobs that
 * suspended CronJobs still run; past that they are left running and show in the post-state
 * (cronjob_active_jobs).
 */
export async function checkStatefulSets(deps: Deps, ctx: RunContext): Promise<Poll> {
  const env = envOf(deps, ctx);
  const changed = ctx.workloadChanges ?? [];
  const pending: string[] = [];
  const notes: string[] = [];
  if (changed.length) {
    const gw = gateway(deps, ctx);
    const down = ctx.request.action === 'down';
    const settle = async (kinds: readonly AnyTargetKind[], graceOver: boolean) => {
      for (const k of kinds)
        for (const c of changed) {
          if (c.kind !== k.kind) continue;
          const r = await k.settle(gw, c, { down, graceOver, graceSeconds: env.jobsGraceSeconds });
          if (r && 'pending' in r) pending.push(r.pending);
          else if (r) notes.push(r.note);
        }
    };
    // Kinds polled on every action first, then (down) those waited for only up to the grace.
    await settle(
      TARGET_KINDS.filter((k) => !k.settlesOnDownOnly),
      false,
    );
    if (down) {
      const { startedAt } = pollStart(ctx.poll, 'statefulsets', deps.now());
      const graceOver = (deps.now().getTime() - startedAt.getTime()) / 1000 >= env.jobsGraceSeconds;
      await settle(
        TARGET_KINDS.filter((k) => k.settlesOnDownOnly),
        graceOver,
      );
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

/** The workloads this up brought back above 0, as "Kind/namespace/name". */
function restoredTargets(ctx: RunContext): Set<string> {
  return new Set([
    ...(ctx.changes ?? []).filter((c) => c.to > 0).map((c) => `Deployment/${c.namespace}/${c.deployment}`),
    ...(ctx.workloadChanges ?? [])
      .filter((c) => targetKindOf(c.kind).scalable && (c.to as number) > 0)
      .map((c) => `${c.kind}/${c.namespace}/${c.name}`),
  ]);
}

/** Up, after the deployments: poll until the HPA of every restored workload is active again. */
export async function checkAutoscalers(deps: Deps, ctx: RunContext): Promise<Poll> {
  const env = envOf(deps, ctx);
  const recordedHpas = Object.entries(restoredOf(ctx.restore?.workloads, autoscalers)) as [
    string,
    { namespace: string; targetKind: string; targetName: string },
  ][];
  const restored = restoredTargets(ctx);
  const watched = recordedHpas.filter(([, h]) =>
    restored.has(`${h.targetKind}/${h.namespace}/${h.targetName}`),
  );
  const pending: string[] = [];
  const active: string[] = [];
  if (watched.length) {
    const gw = workloadsOf(deps.kube(env));
    const byNamespace = new Map<string, Awaited<ReturnType<typeof gw.listHorizontalPodAutoscalers>>>();
    for (const [name, h] of watched) {
      let list = byNamespace.get(h.namespace);
      if (!list) {
        list = await gw.listHorizontalPodAutoscalers(h.namespace);
        byNamespace.set(h.namespace, list);
      }
      const now = list.find((x) => x.name === name);
      // Deleted since the down: nothing to wait for (Prepare reported it).
      if (!now) continue;
      const seen = now.scalingActive
        ? `ScalingActive ${now.scalingActive.status}/${now.scalingActive.reason}`
        : 'no status yet';
      (hpaActive(now) ? active : pending).push(`${name} (${seen})`);
    }
  }
  const state = pending.length
    ? `waiting for ${pending.join(', ')}`
    : `${active.length} HorizontalPodAutoscaler(s) active${active.length ? `: ${active.join(', ')}` : ''}`;
  return poll(
    deps,
    ctx,
    'autoscalers',
    pending.length === 0,
    state,
    env.waits.deployments,
    'HorizontalPodAutoscalers to be active again',
  );
}
