// --remote: start the deployed state machine and follow its execution history until it
// ends, printing the same progress lines as a local run. Following reads only the events
// added since the last poll (newest first, paging back to the last event seen), so an
// hour-long run costs a number of calls linear in its events and polls; the wait between
// polls grows while nothing happens and shrinks back when something does.
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { RunRequest } from '#core/contracts';
import { CimError, ErrorNames } from '#core/errors';
import type { FleetSummary } from '#core/fleet/fleet';
import { FleetSteps } from '#core/steps';
import { progressLine } from '../output/printer.ts';
import { withCredentialsHint } from './remote-target.ts';

export interface FollowOptions {
  sfn?: SFNClient;
  sleep?: (ms: number) => Promise<void>;
  /** First wait between polls, and the wait after a poll that found new events. */
  minWaitMs?: number;
  /** The longest wait between polls while nothing happens. */
  maxWaitMs?: number;
  /** History events per page. */
  pageSize?: number;
}

const ENDED = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionAborted', 'ExecutionTimedOut']);

/** The events after `lastId`, oldest first: pages newest-first back to `lastId`, never further. */
export async function newEvents(
  sfn: SFNClient,
  executionArn: string,
  lastId: number,
  pageSize: number,
): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let token: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        maxResults: pageSize,
        nextToken: token,
      }),
    );
    const events = page.events ?? [];
    for (const e of events) {
      if ((e.id ?? 0) <= lastId) return fresh.reverse();
      fresh.push(e);
    }
    token = page.nextToken;
  } while (token);
  return fresh.reverse();
}

export async function runRemote(
  stateMachineArn: string,
  request: RunRequest,
  onLine?: (line: string) => void,
  options: FollowOptions = {},
) {
  const sfn = options.sfn ?? new SFNClient({});
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const minWait = options.minWaitMs ?? 2000;
  const maxWait = options.maxWaitMs ?? 30_000;
  const pageSize = options.pageSize ?? 200;
  const name = `${request.customer}-${request.environment}-${request.action}-${request.build}`
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 80);
  const { executionArn } = await withCredentialsHint(() =>
    sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(request) })),
  ).catch((err: unknown) => {
    // Nothing started, so nothing was recorded: say what to fix instead of "failure recorded".
    const what = (err as { name?: string }).name;
    if (what === 'StateMachineDoesNotExist' || what === 'InvalidArn')
      throw new CimError(
        ErrorNames.PreflightFailed,
        `state machine ${stateMachineArn} ${what === 'InvalidArn' ? 'is not a valid state machine ARN' : 'does not exist in this account and region'}; nothing was started. Check --state-machine-arn / CIM_STATE_MACHINE_ARN (or stack.stackName) and AWS_REGION, or deploy the stack (npx cdk deploy).`,
        { cause: err },
      );
    throw err;
  });
  if (!executionArn) throw new Error('StartExecution returned no execution ARN');
  onLine?.(`  execution ${executionArn}`);
  const path: string[] = [];
  let lastId = 0;
  let wait = minWait;
  for (;;) {
    const events = await newEvents(sfn, executionArn, lastId, pageSize);
    let ended = false;
    for (const e of events) {
      lastId = Math.max(lastId, e.id ?? lastId);
      if (e.type && ENDED.has(e.type)) ended = true;
      if (e.stateEnteredEventDetails?.name) path.push(e.stateEnteredEventDetails.name);
      const exited = e.stateExitedEventDetails;
      if (exited?.name) {
        const line = progressLine(
          'StateExited',
          exited.name,
          exited.output ? JSON.parse(exited.output) : null,
        );
        if (line) onLine?.(line);
      }
    }
    if (ended) {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return {
        status: d.status === 'SUCCEEDED' ? ('SUCCEEDED' as const) : ('FAILED' as const),
        output: d.output ? JSON.parse(d.output) : null,
        error:
          d.status === 'SUCCEEDED'
            ? undefined
            : { Error: d.error ?? d.status ?? 'Failed', Cause: d.cause ?? '' },
        path,
      };
    }
    // Back off while nothing happens; come back quickly once the run moves again.
    wait = events.length > 0 ? minWait : Math.min(maxWait, Math.round(wait * 1.5));
    await sleep(wait);
  }
}

/**
 * --remote with --select: start the deployed fleet workflow and wait for it, then read its
 * summary from the "Record fleet summary" step (the execution fails when an environment
 * failed, so the summary is not always its output).
 */
export async function runFleetRemote(
  stateMachineArn: string,
  input: Record<string, unknown>,
  onLine?: (line: string) => void,
): Promise<{ summary: FleetSummary | null; error?: { Error: string; Cause: string } }> {
  const sfn = new SFNClient({});
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
  );
  onLine?.(`  fleet execution ${executionArn} (each environment is a child execution in the console)`);
  let wait = 2000;
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') {
      let summary: FleetSummary | null = d.status === 'SUCCEEDED' && d.output ? JSON.parse(d.output) : null;
      if (!summary) {
        const page = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 50 }),
        );
        const exited = (page.events ?? []).find((e) => e.stateExitedEventDetails?.name === FleetSteps.record);
        if (exited?.stateExitedEventDetails?.output)
          summary = JSON.parse(exited.stateExitedEventDetails.output);
      }
      return {
        summary,
        ...(d.status === 'SUCCEEDED'
          ? {}
          : { error: { Error: d.error ?? d.status ?? 'Failed', Cause: d.cause ?? '' } }),
      };
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 30_000);
  }
}
