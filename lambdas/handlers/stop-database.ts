// Task "Stop database": issue the stop unless it is already stopped or on its way.

import { databaseAction } from '#core/run/changes';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('stop-database', Steps.stopDatabase, (deps, ctx, step) =>
  databaseAction(deps, ctx, 'stopped', step),
);
