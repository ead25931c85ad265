// Task "Restore node groups": up, first (nodes before the database and the workloads).

import { restoreNodegroups } from '#core/nodegroups/steps';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('restore-nodegroups', Steps.restoreNodegroups, restoreNodegroups);
