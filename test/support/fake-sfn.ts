// The Step Functions API as the wake's start sees it (aws-sdk-client-mock on SFNClient): each
// execution name starts once, a name seen again is ExecutionAlreadyExists (as AWS answers a
// name in use with other input), and every execution described is RUNNING unless a test says
// otherwise. Test files that use it mock a client's prototype: they are ISOLATED.
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

export interface FakeStepFunctions {
  sfn: AwsClientStub<SFNClient>;
  /** The executions started, in order: their names and parsed inputs. */
  started: { name: string; input: Record<string, unknown> }[];
}

export function fakeStepFunctions(stateMachineArn: string): FakeStepFunctions {
  const started: FakeStepFunctions['started'] = [];
  const sfn = mockClient(SFNClient);
  sfn.on(StartExecutionCommand).callsFake((i) => {
    const name = i.name as string;
    if (started.some((s) => s.name === name))
      throw new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
    started.push({ name, input: JSON.parse(i.input as string) });
    return {
      executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
      startDate: new Date(),
    };
  });
  sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
  return { sfn, started };
}
