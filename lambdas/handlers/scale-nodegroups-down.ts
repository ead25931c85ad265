// Task "Scale node groups to zero": down, after the database (last).

import { scaleNodegroupsDown } from '#core/nodegroups/steps';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('scale-nodegroups-down', Steps.scaleNodegroupsDown, scaleNodegroupsDown);
