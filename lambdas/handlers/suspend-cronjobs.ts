// Task "Suspend CronJobs": down, first phase.
import { eksKube } from '#core/clients/kubernetes';
import { Steps } from '#core/steps';
import { suspendCronJobs } from '#core/workloads/changes';
import { defineStep } from './runtime.ts';

export const handler = defineStep('suspend-cronjobs', Steps.suspendCronJobs, suspendCronJobs, {
  kube: eksKube(),
});
