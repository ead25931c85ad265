// The function on the RDS "started"/"stopped" events: completes the database waits of the
// configured environments on that database (the event is validated; anything else is ignored).

import { sfnTaskTokens } from '#core/clients/sfn-task-tokens';
import { handleDatabaseEvent } from '#core/database/events';
import { DATABASE_EVENT_FUNCTION } from '#core/steps';
import { defineTask } from './runtime.ts';

const tokens = sfnTaskTokens();

// defineTask hands an object event over as it is (the `input` wrapper is Prepare's).
export const handler = defineTask(DATABASE_EVENT_FUNCTION, 'Database event', async (deps, event) =>
  handleDatabaseEvent({ ...deps, taskTokens: deps.taskTokens ?? tokens }, event, {
    account: process.env.CIM_ACCOUNT_ID,
  }),
);
