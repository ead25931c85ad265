// Task "Resume CronJobs": up, last phase.
import { eksKube } from '#core/clients/kubernetes';
import { Steps } from '#core/steps';
import { resumeCronJobs } from '#core/workloads/changes';
import { defineStep } from './runtime.ts';

export const handler = defineStep('resume-cronjobs', Steps.resumeCronJobs, resumeCronJobs, {
  kube: eksKube(),
});
