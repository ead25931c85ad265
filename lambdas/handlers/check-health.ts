// Task "Check health": one look at the restored deployments' health URLs.

import { checkHealth } from '#core/run/polls';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('check-health', Steps.checkHealth, checkHealth);
