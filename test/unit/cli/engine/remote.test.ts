// --remote against a mocked Step Functions API: the execution is started with the request,
// its history is followed to the end reading only new events, with a wait that grows while
// nothing happens; the result maps to the same outcome as a local run.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type GetExecutionHistoryCommandInput,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { runRemote } from '#cli/engine/remote';
import { resolveStateMachineArn } from '#cli/engine/remote-target';
import { ExitCode, exitCodeFor } from '#cli/exit-codes';

const sfn = mockClient(SFNClient);
const cf = mockClient(CloudFormationClient);
afterEach(() => {
  sfn.reset();
  cf.reset();
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
const entered = (name: string) => ({
  type: 'TaskStateEntered' as const,
  stateEnteredEventDetails: { name },
});
const exited = (name: string, output: unknown) => ({
  type: 'TaskStateExited' as const,
  stateExitedEventDetails: { name, output: JSON.stringify(output) },
});

/**
 * A Step Functions history that grows by `script[poll]` events at each poll (one poll is
 * one call that starts from the newest event) and honours reverseOrder, maxResults and
 * nextToken as the service does.
 */
function fakeHistory(script: Omit<HistoryEvent, 'id' | 'timestamp'>[][]) {
  const history: HistoryEvent[] = [];
  let polls = 0;
  sfn.on(GetExecutionHistoryCommand).callsFake((input: GetExecutionHistoryCommandInput) => {
    if (!input.nextToken) {
      for (const e of script[polls] ?? [])
        history.push({ ...e, id: history.length + 1, timestamp: new Date() } as HistoryEvent);
      polls++;
    }
    const ordered = input.reverseOrder ? [...history].reverse() : history;
    const start = Number(input.nextToken ?? 0);
    const size = input.maxResults ?? 1000;
    const events = ordered.slice(start, start + size);
    return { events, nextToken: start + size < ordered.length ? String(start + size) : undefined };
  });
  return { history, polls: () => polls };
}

describe('remote run', () => {
  it('starts a named execution and follows it until it succeeds, each state once', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec' });
    fakeHistory([
      [{ type: 'ExecutionStarted' }, entered('Prepare')],
      [],
      [
        exited('Prepare', {}),
        entered('Check database stopped'),
        exited('Check database stopped', {
          poll: { state: 'stopped', stable: true, elapsedSeconds: 4, waitSeconds: 0, checks: 1 },
        }),
        { type: 'ExecutionSucceeded' },
      ],
    ]);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: '{"result":"succeeded"}' });
    const lines: string[] = [];
    const out = await runRemote('arn:sm', request, (l) => lines.push(l), { sleep: async () => {} });

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
    expect(lines.filter((l) => l.includes('Check database stopped'))).toHaveLength(1);
  });

  it('returns the error name and cause of a failed execution', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec' });
    fakeHistory([[{ type: 'ExecutionStarted' }, { type: 'ExecutionFailed' }]]);
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ status: 'FAILED', error: 'ActionRefused', cause: 'down is refused' });
    expect(await runRemote('arn:sm', request, undefined, { sleep: async () => {} })).toMatchObject({
      status: 'FAILED',
      error: { Error: 'ActionRefused', Cause: 'down is refused' },
    });
  });

  it('reads each event once: history calls stay linear over a long run, and the wait backs off while idle', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec' });
    // An hour-long run: 600 polls, a burst of 10 state changes every 20th poll (3,000 events).
    const polls = 600;
    const script: Omit<HistoryEvent, 'id' | 'timestamp'>[][] = Array.from({ length: polls }, (_, i) =>
      i % 20 === 0
        ? Array.from({ length: 100 }, (_, k) =>
            k % 2 ? exited(`Step ${i}-${k}`, {}) : entered(`Step ${i}-${k}`),
          )
        : [],
    );
    script.push([{ type: 'ExecutionSucceeded' }]);
    const h = fakeHistory(script);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: '{}' });
    const waits: number[] = [];
    const out = await runRemote('arn:sm', request, undefined, {
      sleep: async (ms) => {
        waits.push(ms);
      },
      pageSize: 50,
      minWaitMs: 2000,
      maxWaitMs: 30_000,
    });

    const calls = sfn.commandCalls(GetExecutionHistoryCommand);
    expect(h.polls()).toBe(polls + 1);
    // One call per poll plus one per further page of new events (100 new events = 2 pages).
    expect(calls.length).toBeLessThanOrEqual(h.polls() + Math.ceil(h.history.length / 50));
    expect(calls.every((c) => c.args[0].input.reverseOrder === true)).toBe(true);
    expect(out.path).toHaveLength((polls / 20) * 50);
    expect(new Set(out.path).size).toBe(out.path.length);
    // Idle polls back off to the longest wait; new events bring it back to the shortest.
    expect(Math.max(...waits)).toBe(30_000);
    expect(waits.slice(0, 6)).toEqual([2000, 3000, 4500, 6750, 10125, 15188]);
    expect(waits[20]).toBe(2000);
  });

  it('says what to do when there are no AWS credentials, with the usage exit code', async () => {
    const err = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    sfn.on(StartExecutionCommand).rejects(err);
    const failure = await runRemote('arn:sm', request).catch((e: Error) => e);
    expect(failure).toMatchObject({ name: 'PreflightFailed' });
    expect((failure as Error).message).toMatch(/AWS_PROFILE=/);
    expect((failure as Error).message).toMatch(/aws sso login/);
    expect((failure as Error).message).toMatch(/npm run sandbox/);
    expect(exitCodeFor((failure as Error).name)).toBe(ExitCode.Usage);
  });
});

describe('state machine ARN for --remote', () => {
  it('comes from the stack output when not given', async () => {
    cf.on(DescribeStacksCommand, { StackName: 'CimProd' }).resolves({
      Stacks: [
        {
          StackName: 'CimProd',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'StateMachineArn', OutputValue: 'arn:aws:states:us-east-1:1:stateMachine:a' },
            { OutputKey: 'FleetStateMachineArn', OutputValue: 'arn:aws:states:us-east-1:1:stateMachine:f' },
          ],
        },
      ],
    });
    expect(await resolveStateMachineArn({ stackName: 'CimProd' })).toBe(
      'arn:aws:states:us-east-1:1:stateMachine:a',
    );
    expect(await resolveStateMachineArn({ stackName: 'CimProd', output: 'FleetStateMachineArn' })).toBe(
      'arn:aws:states:us-east-1:1:stateMachine:f',
    );
  });

  it('is the one given on the command line without asking CloudFormation', async () => {
    expect(await resolveStateMachineArn({ explicit: 'arn:given', stackName: 'CimProd' })).toBe('arn:given');
    expect(cf.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('refuses a stack that is not deployed, naming it and the fixes', async () => {
    cf.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }),
    );
    await expect(resolveStateMachineArn({ stackName: 'Nope' })).rejects.toMatchObject({
      name: 'PreflightFailed',
      message: expect.stringMatching(/stack "Nope" is not deployed.*stack\.stackName.*--state-machine-arn/),
    });
  });
});

describe('a remote run that cannot start', () => {
  it.each([
    ['StateMachineDoesNotExist', 'does not exist in this account and region'],
    ['InvalidArn', 'is not a valid state machine ARN'],
  ])(
    'refuses with a clear error when StartExecution answers %s (nothing started, nothing recorded)',
    async (name, says) => {
      sfn.on(StartExecutionCommand).rejects(Object.assign(new Error(`State Machine ${name}`), { name }));
      const err = await runRemote(
        'arn:aws:states:us-east-1:123456789012:stateMachine:nope',
        request,
        undefined,
        {
          sfn: new SFNClient({}),
        },
      ).catch((e: Error) => e);
      expect(err).toMatchObject({ name: 'PreflightFailed' });
      expect((err as Error).message).toContain(`stateMachine:nope ${says}; nothing was started`);
      expect(exitCodeFor((err as Error).name)).toBe(ExitCode.Usage);
      expect(sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);
    },
  );
});
