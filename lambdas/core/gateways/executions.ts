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

/** Step Functions' execution statuses; every one but RUNNING (and PENDING_REDRIVE) is closed. */
export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

/** Reading one execution back (the wake endpoint: is the execution of that name still running?). */
export interface ExecutionReader {
  /** Its status, or null when there is no execution of that ARN. */
  status(executionArn: string): Promise<ExecutionStatus | null>;
}

/** The ARN of a state machine's execution of that name (Step Functions' own form). */
export const executionArnOf = (stateMachineArn: string, name: string) =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
