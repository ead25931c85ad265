// Task "Restore replicas": bring back the counts of the restore point.
import { eksKube } from '#core/clients/kubernetes';
import { restoreReplicas } from '#core/run/changes';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('restore-replicas', Steps.restoreReplicas, restoreReplicas, {
  kube: eksKube(),
});
