// Task "Start database": issue the start unless it is already available or on its way.

import { databaseAction } from '#core/run/changes';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('start-database', Steps.startDatabase, (deps, ctx, step) =>
  databaseAction(deps, ctx, 'available', step),
);
