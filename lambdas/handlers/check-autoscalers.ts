// Task "Check autoscalers active": up, one poll of the HPAs of the restored workloads.
import { eksKube } from '#core/clients/kubernetes';
import { Steps } from '#core/steps';
import { checkAutoscalers } from '#core/workloads/changes';
import { defineStep } from './runtime.ts';

export const handler = defineStep('check-autoscalers', Steps.checkAutoscalers, checkAutoscalers, {
  kube: eksKube(),
});
