// Task "Restore replicas": scale back to the counts of the restore point.

import { eksKube } from '#core/kube';
import { Steps } from '#core/steps';
import { restoreReplicas } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('restore-replicas', Steps.restoreReplicas, restoreReplicas, {
  kube: eksKube(),
});
