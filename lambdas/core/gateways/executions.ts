// What the domain knows of starting a workflow's execution (Step Functions): a name makes it
// idempotent, so a retried start answers with the execution the first one started.

export interface StartedExecution {
  executionArn: string;
  /** False when an execution of that name was there already (a retry, or a second schedule firing). */
  started: boolean;
}

export interface Executions {
  start(input: { stateMachineArn: string; name: string; input: unknown }): Promise<StartedExecution>;
}
