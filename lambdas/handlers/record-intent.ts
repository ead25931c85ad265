// Task "Record intent": before the first change, write pre-state.json and the intent in actions.json.
import { Steps } from '#core/steps';
import { recordIntent } from '#core/workflow-steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('record-intent', Steps.recordIntent, recordIntent);
