// Owns the Ingress steps of an environment with sleepingBackend (issue 19): the down points
// every recorded Ingress at the sleeping backend (first, so the first request after it finds
// the wake page); the up, once the workloads are ready and before the health checks (which go
// through the Ingresses), gives each one still exactly as the down left it its recorded spec
// back. Like the other steps, each is fenced by the lock, decides from the recorded state and
// the object as it is now (never from what an earlier attempt did), and is safe to run again
// after any subset of its changes.
import { type Deps, envOf, type RunContext } from '../contracts.ts';
import { CimError, ErrorNames } from '../errors.ts';
import { type IngressGateway, ingressesOf } from '../gateways/ingresses.ts';
import { fence } from '../run/fence.ts';
import type { Skip } from '../workloads/kind.ts';
import {
  asDownLeft,
  type IngressState,
  ingressRecordBuild,
  ingressSkip,
  marker,
  pointedSpec,
  SLEEPING_ANNOTATION,
  sameSpec,
} from './rules.ts';

function finish(deps: Deps, ctx: RunContext, skipped: Skip[]): RunContext {
  for (const s of skipped) deps.log.warn('skipped Ingress', { ...s });
  return skipped.length ? { ...ctx, workloadSkipped: [...(ctx.workloadSkipped ?? []), ...skipped] } : ctx;
}

const gateway = (deps: Deps, ctx: RunContext): IngressGateway => ingressesOf(deps.kube(envOf(deps, ctx)));

/** Down, first: point every Ingress recorded by Prepare at the sleeping backend, marked. */
export async function pointIngresses(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  await fence(deps, ctx, step);
  // Pointed already when Prepare read it: an earlier down of this streak did it (its record is the restore point).
  const recorded = (ctx.preState.ingresses ?? []).filter((i) => !i.pointed);
  if (recorded.length === 0) return ctx;
  const backend = envOf(deps, ctx).sleepingBackend;
  if (!backend)
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${ctx.request.customer}/${ctx.request.environment} has Ingresses recorded to point but no sleepingBackend configured (the configuration changed during the run)`,
    );
  const gw = gateway(deps, ctx);
  const skipped: Skip[] = [];
  for (const r of recorded) {
    const now = await gw.readIngress(r.namespace, r.name);
    if (!now) skipped.push(ingressSkip(r, 'was deleted during the run'));
    // This step's earlier attempt pointed it already.
    else if (asDownLeft(now, r.spec)) continue;
    else if (SLEEPING_ANNOTATION in now.annotations || !sameSpec(now.spec, r.spec))
      skipped.push(
        ingressSkip(
          r,
          'changed after the run recorded it: left as it is, not pointed at the sleeping backend',
        ),
      );
    else
      await gw.replaceIngressSpec(now, pointedSpec(r.spec, backend), {
        key: SLEEPING_ANNOTATION,
        value: marker(r.spec, backend),
      });
  }
  return finish(deps, ctx, skipped);
}

/** Up, after the workloads are ready: give every Ingress still as the down left it its recorded spec back. */
export async function restoreIngresses(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  const restore = ctx.restore;
  if (!restore) throw new CimError(ErrorNames.RestorePointMissing, 'up has no restore point in its context');
  await fence(deps, ctx, step);
  const recorded: IngressState[] = restore.ingresses ?? [];
  if (recorded.length === 0) return ctx;
  const gw = gateway(deps, ctx);
  const skipped: Skip[] = [];
  // Recorded by the down that pointed them, whatever build the counts come from (Prepare).
  const fromBuild = ctx.previous ? ingressRecordBuild(ctx.previous) : restore.fromBuild;
  for (const r of recorded) {
    if (r.pointed) {
      skipped.push(
        ingressSkip(
          r,
          `was already pointed at the sleeping backend when build ${fromBuild} recorded it: left as it is (give it its spec back by hand)`,
        ),
      );
      continue;
    }
    const now = await gw.readIngress(r.namespace, r.name);
    if (!now) skipped.push(ingressSkip(r, `does not exist (recorded by build ${fromBuild})`));
    else if (asDownLeft(now, r.spec))
      await gw.replaceIngressSpec(now, r.spec, { key: SLEEPING_ANNOTATION, value: null });
    // This step's earlier attempt restored it already.
    else if (!(SLEEPING_ANNOTATION in now.annotations) && sameSpec(now.spec, r.spec)) continue;
    else
      skipped.push(
        ingressSkip(
          r,
          `changed since the down of build ${fromBuild} pointed it at the sleeping backend: left as it is`,
        ),
      );
  }
  return finish(deps, ctx, skipped);
}
