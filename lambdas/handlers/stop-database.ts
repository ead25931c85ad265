// Task "Stop database": issue the stop unless it is already stopped or on its way.
import { Steps } from '#core/steps';
import { databaseAction, type RunContext } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('stop-database', Steps.stopDatabase, (deps, ctx: RunContext) =>
  databaseAction(deps, ctx, 'stopped'),
);
