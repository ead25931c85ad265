// Task "Find guarded environments": the environments of the RDS event's database (or all, for
// the sweep), written to S3 for the Distributed Map; the state output is their location.
import { guardSelect, writeGuardItems } from '#core/guard/guard';
import { GuardSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('guard-select', GuardSteps.select, (deps, event) => {
  const selection = guardSelect(deps, event.input);
  const executionId = event.executionId ?? `local:${selection.items[0]?.build ?? 'guard'}`;
  return writeGuardItems(deps, selection, executionId);
});
