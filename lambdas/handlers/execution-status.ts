// The function on the environment executions' status changes (ABORTED, TIMED_OUT, FAILED):
// records a run that ended without its Catch as interrupted and releases its lock (the
// event is validated; see #core/execution-ended).
import { recordEndedExecution } from '#core/run/execution-ended';
import { EXECUTION_STATUS_FUNCTION } from '#core/steps';
import { defineTask } from './runtime.ts';

// defineTask hands an object event over as it is (the `input` wrapper is Prepare's).
export const handler = defineTask(EXECUTION_STATUS_FUNCTION, 'Execution ended', async (deps, event) =>
  recordEndedExecution(deps, event),
);
