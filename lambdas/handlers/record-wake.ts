// Task "Record wake": a wake's up (or renewal) claims wake.json and is counted in the rate-limit ledgers.
import { recordWakeStep } from '#core/run/wake-steps';
import { Steps } from '#core/steps';
// Its input is the run context (or Prepare's answer of a renewal), not a request: taken whole.
import { defineTask } from './runtime.ts';

export const handler = defineTask('record-wake', Steps.recordWake, (deps, event) =>
  recordWakeStep(deps, event as unknown, Steps.recordWake),
);
