// Task "Scale deployments to zero".
import { Steps } from '#core/steps';
import { scaleDown } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('scale-down', Steps.scaleDown, scaleDown);
