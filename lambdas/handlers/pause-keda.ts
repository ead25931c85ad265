// Task "Pause KEDA ScaledObjects": down, before any scale.
import { eksKube } from '#core/clients/kubernetes';
import { Steps } from '#core/steps';
import { pauseScaledObjects } from '#core/workloads/changes';
import { defineStep } from './runtime.ts';

export const handler = defineStep('pause-keda', Steps.pauseScaledObjects, pauseScaledObjects, {
  kube: eksKube(),
});
