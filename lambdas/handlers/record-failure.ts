// Task "Record failure": the catch-all; records what failed and releases the lock. Its
// output is the compact summary (the records stay in S3); the notification gets the whole one.
import { eksKube } from '#core/clients/kubernetes';
import { failedRunNotification, notify } from '#core/notify/notify';
import { compactSummary, recordFailure } from '#core/run/record';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep(
  'record-failure',
  Steps.recordFailure,
  async (deps, ctx) => {
    const summary = await recordFailure(deps, ctx);
    await notify(deps, failedRunNotification(summary));
    return compactSummary(summary);
  },
  { kube: eksKube() },
);
