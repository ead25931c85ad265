// Task "Check deployments": one poll of the restored deployments, returns the next wait.
import { Steps } from '#core/steps';
import { checkDeployments } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('check-deployments', Steps.checkDeployments, checkDeployments);
