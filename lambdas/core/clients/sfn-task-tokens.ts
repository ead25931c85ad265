// Owns completing a waiting Task in Step Functions (SendTaskSuccess), for the event-driven
// database wait; a Task that no longer waits is not an error.
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { errorName } from '../errors.ts';
import type { TaskTokens } from '../gateways/task-tokens.ts';

const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export function sfnTaskTokens(client: SFNClient = new SFNClient({})): TaskTokens {
  return {
    async succeed(token, output) {
      try {
        await client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
        return 'sent';
      } catch (err) {
        if (GONE.has(errorName(err))) return 'expired';
        throw err;
      }
    },
  };
}
