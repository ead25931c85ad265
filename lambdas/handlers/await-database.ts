// Tasks "Await database started/stopped event": store the task token where the RDS event
// function finds it, then look at the database once (the event may have come already).

import { sfnTaskTokens } from '#core/clients/sfn-task-tokens';
import { parseContext } from '#core/contracts';
import { awaitDatabaseEvent } from '#core/database/events';
import { defineTask } from './runtime.ts';

const LABEL = 'Await database event';
const tokens = sfnTaskTokens();

export const handler = defineTask('await-database', LABEL, async (deps, event) => {
  const e = event as unknown as { token?: unknown; context?: unknown };
  if (typeof e.token !== 'string' || !e.token)
    throw new Error('internal: the task token is missing from the input');
  const ctx = parseContext(e.context, LABEL);
  return awaitDatabaseEvent({ ...deps, taskTokens: deps.taskTokens ?? tokens }, ctx, e.token, LABEL);
});
