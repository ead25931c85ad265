// Tasks "Check deployments stopped" / "Check deployments available": one poll, returns the next wait.
import { eksKube } from '#core/clients/kubernetes';
import { checkDeployments } from '#core/run/polls';
import { defineStep } from './runtime.ts';

export const handler = defineStep('check-deployments', 'Check deployments', checkDeployments, {
  kube: eksKube(),
});
