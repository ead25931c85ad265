// Task "Prepare": validate the request, resolve the environment, take the lock, apply the refusal rules.
import { Steps } from '#core/steps';
import { prepare } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask(
  'prepare',
  Steps.prepare,
  (deps, event: { input: unknown; executionId?: string }) => prepare(deps, event),
);
