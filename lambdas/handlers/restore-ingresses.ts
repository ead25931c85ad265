// Task "Restore Ingresses": up, after the workloads are ready and before the health checks.
import { eksKube } from '#core/clients/kubernetes';
import { restoreIngresses } from '#core/ingresses/steps';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('restore-ingresses', Steps.restoreIngresses, restoreIngresses, {
  kube: eksKube(),
});
