// Task "Record fleet summary": classify every environment's outcome, write the fleet's record once.
import { type ChildRun, type FleetPlan, recordFleet } from '#core/fleet';
import { FleetSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('fleet-record', FleetSteps.record, (deps, event) => {
  const e = event as unknown as { plan: FleetPlan; results: ChildRun[]; executionId?: string };
  return recordFleet(deps, {
    plan: e.plan,
    results: e.results ?? [],
    ...(e.executionId ? { executionId: e.executionId } : {}),
  });
});
