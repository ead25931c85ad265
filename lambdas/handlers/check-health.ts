// Task "Check health": one poll of the health URLs, returns the next wait.
import { Steps } from '#core/steps';
import { checkHealth } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('check-health', Steps.checkHealth, checkHealth);
