// Starting a workflow's execution through the Step Functions API (gateways/executions.ts).
// ExecutionAlreadyExists is how a start of a name already taken answers (a retried start
// whose execution has closed, or one with other input): the execution is there. Reading an
// execution's status is a separate method: only the wake endpoint's role may call it.
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { AWS_REQUEST_TIMEOUTS } from '../errors.ts';
import {
  type ExecutionReader,
  type ExecutionStatus,
  type Executions,
  executionArnOf,
} from '../gateways/executions.ts';

export class SfnExecutions implements Executions, ExecutionReader {
  constructor(private readonly sfn: SFNClient = new SFNClient({ requestHandler: AWS_REQUEST_TIMEOUTS })) {}

  async start(i: { stateMachineArn: string; name: string; input: unknown }) {
    try {
      const out = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: i.stateMachineArn,
          name: i.name,
          input: JSON.stringify(i.input),
        }),
      );
      return { executionArn: out.executionArn ?? '', started: true };
    } catch (err) {
      if ((err as { name?: string }).name !== 'ExecutionAlreadyExists') throw err;
      // (No DescribeExecution here: the wake TTL function may only start executions.)
      return { executionArn: executionArnOf(i.stateMachineArn, i.name), started: false };
    }
  }

  async status(executionArn: string): Promise<ExecutionStatus | null> {
    try {
      const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return (out.status as ExecutionStatus | undefined) ?? null;
    } catch (err) {
      if ((err as { name?: string }).name === 'ExecutionDoesNotExist') return null;
      throw err;
    }
  }
}
