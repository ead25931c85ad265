// Task "Scale deployments to zero".
import { eksKube } from '#core/clients/kubernetes';
import { Steps } from '#core/steps';
import { scaleDown } from '#core/workflow-steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('scale-down', Steps.scaleDown, scaleDown, { kube: eksKube() });
