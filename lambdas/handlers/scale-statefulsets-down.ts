// Task "Scale StatefulSets to zero": down, after the deployments.
import { eksKube } from '#core/clients/kubernetes';
import { Steps } from '#core/steps';
import { scaleStatefulSetsDown } from '#core/workloads/changes';
import { defineStep } from './runtime.ts';

export const handler = defineStep(
  'scale-statefulsets-down',
  Steps.scaleStatefulSetsDown,
  scaleStatefulSetsDown,
  { kube: eksKube() },
);
