// Task "Point Ingresses to sleeping backend": down, first (environments with sleepingBackend).
import { eksKube } from '#core/clients/kubernetes';
import { pointIngresses } from '#core/ingresses/steps';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('point-ingresses', Steps.pointIngresses, pointIngresses, {
  kube: eksKube(),
});
