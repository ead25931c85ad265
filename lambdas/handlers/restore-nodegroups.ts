// Task "Restore node groups": up, first (nodes before the database and the workloads).
import { Steps } from '#core/steps';
import { restoreNodegroups } from '#core/workflow-steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('restore-nodegroups', Steps.restoreNodegroups, restoreNodegroups);
