// Tasks "Check node groups scaled down" / "Check node groups ready": one poll, returns the next wait.
import { eksKube } from '#core/clients/kubernetes';
import { checkNodegroups } from '#core/nodegroups/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('check-nodegroups', 'Check node groups', checkNodegroups, {
  kube: eksKube(),
});
