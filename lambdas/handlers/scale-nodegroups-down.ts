// Task "Scale node groups to zero": down, after the database (last).
import { Steps } from '#core/steps';
import { scaleNodegroupsDown } from '#core/workflow-steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('scale-nodegroups-down', Steps.scaleNodegroupsDown, scaleNodegroupsDown);
