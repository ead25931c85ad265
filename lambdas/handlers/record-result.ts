// Task "Record result": post-state and action records, then release the lock.

import { eksKube } from '#core/kube';
import { Steps } from '#core/steps';
import { recordResult } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('record-result', Steps.recordResult, recordResult, { kube: eksKube() });
