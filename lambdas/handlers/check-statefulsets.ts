// Tasks "Check StatefulSets stopped" / "Check StatefulSets ready": one poll, returns the next wait.
import { eksKube } from '#core/clients/kubernetes';
import { checkStatefulSets } from '#core/workloads/changes';
import { defineStep } from './runtime.ts';

export const handler = defineStep('check-statefulsets', 'Check StatefulSets', checkStatefulSets, {
  kube: eksKube(),
});
