// Task "Record intent": before the first change, write pre-state.json and the intent in actions.json.

import { recordIntent } from '#core/run/record';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('record-intent', Steps.recordIntent, recordIntent);
