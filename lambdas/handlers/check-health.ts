// Task "Check health": one look at the restored deployments' health URLs.
import { Steps } from '#core/steps';
import { checkHealth } from '#core/workflow-steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('check-health', Steps.checkHealth, checkHealth);
