// --remote: start the deployed state machine and follow its execution history until it
// ends, printing the same progress lines as a local run.
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { FleetSummary } from '#core/fleet';
import { FleetSteps } from '#core/steps';
import type { RunRequest } from '#core/workflow-steps';
import { progressLine } from './output.ts';

const FOLLOW_INTERVAL_MS = 3000;

export async function runRemote(
  stateMachineArn: string,
  request: RunRequest,
  onLine?: (line: string) => void,
) {
  const sfn = new SFNClient({});
  const name = `${request.customer}-${request.environment}-${request.action}-${request.build}`
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 80);
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(request) }),
  );
  onLine?.(`  execution ${executionArn}`);
  const path: string[] = [];
  let lastId = 0;
  for (;;) {
    let token: string | undefined;
    const events: HistoryEvent[] = [];
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, nextToken: token, maxResults: 500 }),
      );
      events.push(...(page.events ?? []));
      token = page.nextToken;
    } while (token);
    for (const e of events) {
      if ((e.id ?? 0) <= lastId) continue;
      lastId = e.id ?? lastId;
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
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') {
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
    await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
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
