// Task "Start database": issue the start unless it is already available or on its way.
import { Steps } from '#core/steps';
import { databaseAction, type RunContext } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('start-database', Steps.startDatabase, (deps, ctx: RunContext) =>
  databaseAction(deps, ctx, 'available'),
);
