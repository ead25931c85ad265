// Task "Record result": post-state, action records, release the lock.
import { eksKube } from '#core/kube';
import { Steps } from '#core/steps';
import { recordResult } from '#core/workflow-steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('record-result', Steps.recordResult, recordResult, { kube: eksKube() });
