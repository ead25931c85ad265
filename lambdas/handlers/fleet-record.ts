// Task "Record fleet summary": classify every environment's outcome, write the fleet's record once.
import { type ChildRun, type FleetPlan, recordFleet } from '#core/fleet';
import { fleetNotification, notify } from '#core/notify';
import { FleetSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('fleet-record', FleetSteps.record, async (deps, event) => {
  const e = event as unknown as { plan: FleetPlan; results: ChildRun[]; executionId?: string };
  const summary = await recordFleet(deps, {
    plan: e.plan,
    results: e.results ?? [],
    ...(e.executionId ? { executionId: e.executionId } : {}),
  });
  if (summary.counts.failed > 0) await notify(deps, fleetNotification(summary, e.executionId ?? 'unknown'));
  return summary;
});
