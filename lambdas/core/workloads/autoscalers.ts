// Owns the HorizontalPodAutoscalers of a whole environment. This tool never changes an HPA:
// Kubernetes ignores an HPA while its target is at 0 (ScalingActive=False, ScalingDisabled),
// so a down needs nothing from it, and an up restores the recorded count and then leaves the
// workload to its autoscaler. What it does: record each HPA's bounds at the down, report at
// the up an HPA whose bounds changed meanwhile, and wait after the up until every HPA of a
// restored workload is active again.

import { type Deps, envOf, type RunContext, type Skip } from '../contracts.ts';
import { hpaActive, workloadsOf } from '../gateways/workloads.ts';
import type { EnvironmentState } from '../records/legacy-state.ts';
import type { RestorePoint } from '../records/restore-point.ts';
import { poll } from '../run/polls.ts';
import type { Poll } from '../waits.ts';

const HPA = 'HorizontalPodAutoscaler';

/** Up (Prepare): HPAs whose minReplicas/maxReplicas are not what the restore point recorded. */
export function changedHpas(restore: RestorePoint, now: EnvironmentState): Skip[] {
  const out: Skip[] = [];
  for (const [name, was] of Object.entries(restore.workloads?.hpas ?? {})) {
    const h = (now.workloads ?? []).find(
      (w) => w.kind === HPA && w.name === name && w.namespace === was.namespace,
    );
    const recorded = `${was.minReplicas}-${was.maxReplicas}`;
    if (!h || h.kind !== HPA)
      out.push({
        deployment: name,
        kind: HPA,
        reason: `HorizontalPodAutoscaler ${was.namespace}/${name} (min-max ${recorded} at build ${restore.fromBuild}) no longer targets a scaled workload or was deleted`,
      });
    else if (h.minReplicas !== was.minReplicas || h.maxReplicas !== was.maxReplicas)
      out.push({
        deployment: name,
        kind: HPA,
        reason: `HorizontalPodAutoscaler ${was.namespace}/${name} changed since the down (min-max ${recorded} at build ${restore.fromBuild}, now ${h.minReplicas}-${h.maxReplicas}); left as it is`,
      });
  }
  return out;
}

/** The workloads this up brought back above 0, as "Kind/namespace/name". */
function restoredTargets(ctx: RunContext): Set<string> {
  return new Set([
    ...(ctx.changes ?? []).filter((c) => c.to > 0).map((c) => `Deployment/${c.namespace}/${c.deployment}`),
    ...(ctx.workloadChanges ?? [])
      .filter((c) => c.kind === 'StatefulSet' && c.to > 0)
      .map((c) => `StatefulSet/${c.namespace}/${c.name}`),
  ]);
}

/** Up, after the deployments: poll until the HPA of every restored workload is active again. */
export async function checkAutoscalers(deps: Deps, ctx: RunContext): Promise<Poll> {
  const env = envOf(deps, ctx);
  const recorded = Object.entries(ctx.restore?.workloads?.hpas ?? {});
  const restored = restoredTargets(ctx);
  const watched = recorded.filter(([, h]) => restored.has(`${h.targetKind}/${h.namespace}/${h.targetName}`));
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
