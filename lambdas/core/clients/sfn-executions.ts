// Starting a workflow's execution through the Step Functions API (gateways/executions.ts).
// ExecutionAlreadyExists is how a retried start with the same name and input answers: the
// execution is there, which is what the caller wanted.
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { AWS_REQUEST_TIMEOUTS } from '../errors.ts';
import type { Executions } from '../gateways/executions.ts';

export class SfnExecutions implements Executions {
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
      // The ARN of an execution is its machine's ARN with `execution` and its name.
      // (No DescribeExecution: the function may only start executions.)
      const executionArn = `${i.stateMachineArn.replace(':stateMachine:', ':execution:')}:${i.name}`;
      return { executionArn, started: false };
    }
  }
}
