// Task "Summarize guard": what was re-stopped, left alone and why (read from the map run's
// results); fails the execution on a failure.
import { guardSummary } from '#core/guard/guard';
import { GuardSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('guard-summary', GuardSteps.summary, (deps, event) =>
  guardSummary(deps, event),
);
