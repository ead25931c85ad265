// Tasks "Point Ingresses to sleeping backend" (down, first) and "Restore Ingresses" (up, after
// the workloads are ready): environments with sleepingBackend. One function for both, like the
// checks: the run's action says which.
import { eksKube } from '#core/clients/kubernetes';
import { pointIngresses, restoreIngresses } from '#core/ingresses/steps';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep(
  'ingresses',
  'Ingresses',
  (deps, ctx) =>
    ctx.request.action === 'down'
      ? pointIngresses(deps, ctx, Steps.pointIngresses)
      : restoreIngresses(deps, ctx, Steps.restoreIngresses),
  { kube: eksKube() },
);
