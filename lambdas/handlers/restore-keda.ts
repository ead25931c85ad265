// Task "Restore KEDA ScaledObjects": up, before any scale.
import { eksKube } from '#core/clients/kubernetes';
import { Steps } from '#core/steps';
import { restoreScaledObjects } from '#core/workloads/changes';
import { defineStep } from './runtime.ts';

export const handler = defineStep('restore-keda', Steps.restoreScaledObjects, restoreScaledObjects, {
  kube: eksKube(),
});
