// Task "Record result": post-state, action records, release the lock; its output is the
// run's compact summary (counts and record keys: the records stay in S3).
import { eksKube } from '#core/clients/kubernetes';
import { compactSummary, recordResult } from '#core/run/record';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep(
  'record-result',
  Steps.recordResult,
  async (deps, ctx, step) => compactSummary(await recordResult(deps, ctx, step)),
  { kube: eksKube() },
);
