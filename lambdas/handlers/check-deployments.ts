// Tasks "Check deployments stopped" / "Check deployments available": one poll, returns the next wait.

import { eksKube } from '#core/kube';
import { checkDeployments } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('check-deployments', 'Check deployments', checkDeployments, {
  kube: eksKube(),
});
