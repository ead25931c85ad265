// Interfaces of the event-driven database wait: completing a waiting Task, and what the
// Start/Stop database step tells the workflow about the wait that follows.

/** Completes a waiting Task: Step Functions' SendTaskSuccess in Lambda, a local registry on the engine. */
export interface TaskTokens {
  /** 'expired' when the Task no longer waits (timed out, already completed, execution ended). */
  succeed(token: string, output: Record<string, unknown>): Promise<'sent' | 'expired'>;
}

/** What the Start/Stop database step tells the workflow about the wait that follows. */
export interface DatabaseWait {
  /** Wait for the RDS event (with the task token) before polling. */
  events: boolean;
  /** The waiting Task's timeout: then the workflow polls. */
  fallbackSeconds: number;
}
