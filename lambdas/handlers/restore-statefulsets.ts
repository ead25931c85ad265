// Task "Restore StatefulSets": up, after the database, before the deployments.
import { eksKube } from '#core/clients/kubernetes';
import { Steps } from '#core/steps';
import { restoreStatefulSets } from '#core/workloads/changes';
import { defineStep } from './runtime.ts';

export const handler = defineStep('restore-statefulsets', Steps.restoreStatefulSets, restoreStatefulSets, {
  kube: eksKube(),
});
