// Task "Summarize guard": what was re-stopped, left alone and why; fails the execution on a failure.
import { guardSummary } from '#core/guard';
import { GuardSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('guard-summary', GuardSteps.summary, (_deps, event) => guardSummary(event));
