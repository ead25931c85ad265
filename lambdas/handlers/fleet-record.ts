// Task "Record fleet summary": read the map run's results, classify every environment's
// outcome, write the fleet's record once; return a summary of constant size.
import { type ChildRun, type FleetPlan, recordFleet, summaryOutput } from '#core/fleet/fleet';
import type { MapRunOutput } from '#core/fleet/map-results';
import { fleetNotification, notify } from '#core/notify/notify';
import { FleetSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('fleet-record', FleetSteps.record, async (deps, event) => {
  const e = event as unknown as {
    plan: FleetPlan & { results?: MapRunOutput | ChildRun[] };
    executionId?: string;
  };
  const results = e.plan.results ?? [];
  const summary = await recordFleet(deps, {
    plan: e.plan,
    results,
    ...(e.executionId ? { executionId: e.executionId } : {}),
  });
  if (summary.counts.failed > 0) await notify(deps, fleetNotification(summary, e.executionId ?? 'unknown'));
  return summaryOutput(summary, results);
});
