// Tasks "Keep database stopped" and "Record guard failure": one look at the parked database per call.
import { guardFailure, guardStep } from '#core/guard';
import { GuardSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('guard-step', GuardSteps.step, (deps, event) => {
  const ctx = event as unknown as { error?: unknown };
  return ctx.error ? guardFailure(deps, ctx) : guardStep(deps, ctx);
});
