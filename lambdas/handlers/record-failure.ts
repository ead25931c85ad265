// Task "Record failure": the catch-all; records what failed and releases the lock.
import { eksKube } from '#core/kube';
import { Steps } from '#core/steps';
import { recordFailure } from '#core/workflow-steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('record-failure', Steps.recordFailure, recordFailure, { kube: eksKube() });
