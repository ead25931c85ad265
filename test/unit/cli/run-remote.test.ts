// --remote against a mocked Step Functions API: the execution is started with the request,
// its history is followed to the end, and the result maps to the same outcome as a local run.
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runRemote } from '#cli/run-remote';

const sfn = mockClient(SFNClient);
afterEach(() => {
  sfn.reset();
  vi.useRealTimers();
});
const request = {
  action: 'down' as const,
  customer: 'alpha',
  environment: 'dev',
  build: '12',
  user: 'jenkins',
  dryRun: false,
  record: false,
};
const entered = (id: number, name: string) => ({
  id,
  type: 'TaskStateEntered' as const,
  timestamp: new Date(),
  stateEnteredEventDetails: { name },
});
const exited = (id: number, name: string, output: unknown) => ({
  id,
  type: 'TaskStateExited' as const,
  timestamp: new Date(),
  stateExitedEventDetails: { name, output: JSON.stringify(output) },
});

describe('remote run', () => {
  it('starts a named execution and follows it until it succeeds', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, advanceTimeDelta: 1000 });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec' });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: [entered(1, 'Prepare')] })
      .resolves({
        events: [
          entered(1, 'Prepare'),
          exited(2, 'Prepare', {}),
          entered(3, 'Check database stopped'),
          exited(4, 'Check database stopped', {
            poll: { state: 'stopped', stable: true, elapsedSeconds: 4, waitSeconds: 0, checks: 1 },
          }),
        ],
      });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' })
      .resolves({ status: 'SUCCEEDED', output: '{"result":"succeeded"}' });
    const lines: string[] = [];
    const out = await runRemote('arn:sm', request, (l) => lines.push(l));

    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: 'arn:sm',
      name: 'alpha-dev-down-12',
      input: JSON.stringify(request),
    });
    expect(out).toMatchObject({
      status: 'SUCCEEDED',
      output: { result: 'succeeded' },
      path: ['Prepare', 'Check database stopped'],
    });
    expect(lines).toContain('  Check database stopped: stopped (check 1, 4 s elapsed)');
    expect(lines.filter((l) => l === '  Prepare')).toHaveLength(1);
  });

  it('returns the error name and cause of a failed execution', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec' });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ status: 'FAILED', error: 'ActionRefused', cause: 'down is refused' });
    expect(await runRemote('arn:sm', request)).toMatchObject({
      status: 'FAILED',
      error: { Error: 'ActionRefused', Cause: 'down is refused' },
    });
  });
});
