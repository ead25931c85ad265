// Task "Scale deployments to zero".
import { eksKube } from '#core/clients/kubernetes';
import { scaleDown } from '#core/run/changes';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('scale-down', Steps.scaleDown, scaleDown, { kube: eksKube() });
