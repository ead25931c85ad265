// Runs the fleet workflow in-process on aws-local-stepfunctions: the same definition as the
// deployed one, its Lambda Tasks mapped to the real handlers, and its child Task
// (startExecution.sync:2) mapped to a local run of the environment workflow.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ExecutionError } from 'aws-local-stepfunctions';
import type { FleetItemOutcome, FleetSummary } from '#core/fleet';
import { classifyChild } from '#core/fleet';
import { FleetSteps } from '#core/steps';
import type { Deps } from '#core/workflow-steps';
import { localFleetHandlers } from '#handlers/index';
import { workflowDefinition } from './definitions.ts';
import { type EventLog, machineFor, runLocal } from './run-local.ts';

export interface FleetRunOptions {
  deps: Deps;
  input: Record<string, unknown>;
  executionId?: string;
  fleetDefinition?: Record<string, unknown>;
  environmentDefinition?: Record<string, unknown>;
  onChildStart?: (environment: string) => void;
  onChildEnd?: (outcome: FleetItemOutcome) => void;
  waitOverrides?: Record<string, number>;
  retryOverrides?: Record<string, number>;
  interrupt?: AbortSignal;
  /** Sees every event of the fleet execution (bench/fleet-model.ts measures payloads and history). */
  onEvent?: (e: EventLog) => void;
  /** Wraps each environment Task (tests). */
  wrapTask?: (
    state: string,
    fn: (input: unknown) => Promise<unknown>,
  ) => (input: unknown) => Promise<unknown>;
}

export interface FleetRun {
  status: 'SUCCEEDED' | 'FAILED';
  summary: FleetSummary | null;
  error?: { Error: string; Cause: string };
  path: string[];
  /** Most child runs that were in flight at once. */
  maxInFlight: number;
}

export async function runFleetLocal(o: FleetRunOptions): Promise<FleetRun> {
  const machine = machineFor(o.fleetDefinition ?? (await workflowDefinition('fleet')));
  let inFlight = 0;
  let maxInFlight = 0;
  const child = async (payload: unknown) => {
    const p = payload as { Name: string; Input: Record<string, unknown> };
    const environment = `${p.Input.customer}/${p.Input.environment}`;
    const executionArn = `local:${hostname()}:${process.pid}:${p.Name}:${randomBytes(3).toString('hex')}`;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    o.onChildStart?.(environment);
    const startDate = Date.now();
    try {
      const run = await runLocal({
        deps: o.deps,
        input: p.Input,
        executionId: executionArn,
        ...(o.environmentDefinition ? { definition: o.environmentDefinition } : {}),
        ...(o.waitOverrides ? { waitOverrides: o.waitOverrides } : {}),
        ...(o.retryOverrides ? { retryOverrides: o.retryOverrides } : {}),
        ...(o.interrupt ? { interrupt: o.interrupt } : {}),
        ...(o.wrapTask ? { wrapTask: o.wrapTask } : {}),
      });
      const description = { ExecutionArn: executionArn, StartDate: startDate, StopDate: Date.now() };
      const [customer = '', env = ''] = environment.split('/');
      if (run.status === 'SUCCEEDED') {
        o.onChildEnd?.(
          classifyChild({
            customer,
            environment: env,
            run: { executionArn, startDate, stopDate: description.StopDate },
          }),
        );
        return { ...description, Status: 'SUCCEEDED', Output: run.output };
      }
      const error = run.error ?? { Error: 'Failed', Cause: '' };
      o.onChildEnd?.(
        classifyChild({
          customer,
          environment: env,
          error: { Error: 'States.TaskFailed', Cause: JSON.stringify({ ...description, ...error }) },
        }),
      );
      // What startExecution.sync reports for a child that failed.
      const failed = new Error(JSON.stringify({ ...description, Status: 'FAILED', ...error }));
      failed.name = 'States.TaskFailed';
      throw failed;
    } finally {
      inFlight--;
    }
  };
  const id = o.executionId ?? `local:${hostname()}:${process.pid}:fleet:${randomBytes(3).toString('hex')}`;
  const execution = machine.run(o.input as never, {
    overrides: {
      // biome-ignore lint/suspicious/noExplicitAny: JSON in, JSON out
      taskResourceLocalHandlers: { ...localFleetHandlers(o.deps), [FleetSteps.runEnvironment]: child } as any,
      ...(o.retryOverrides ? { retryIntervalOverrides: o.retryOverrides } : {}),
    },
    context: { Execution: { Id: id, Name: id.split(':').pop(), StartTime: new Date().toISOString() } },
  });
  const path: string[] = [];
  let summary: FleetSummary | null = null;
  let failedEvent: { Error?: string; Cause?: unknown } | undefined;
  const drain = (async () => {
    for await (const e of execution.eventLogs as AsyncGenerator<EventLog>) {
      o.onEvent?.(e);
      if (e.type === 'ExecutionFailed') failedEvent = e as { Error?: string; Cause?: unknown };
      if (e.type === 'StateEntered') path.push(e.state.name);
      if (e.type === 'StateExited' && e.state.name === FleetSteps.record)
        summary = e.state.output as unknown as FleetSummary;
    }
  })();
  try {
    const output = await execution.result;
    await drain;
    return {
      status: 'SUCCEEDED',
      summary: (output as unknown as FleetSummary) ?? summary,
      path,
      maxInFlight,
    };
  } catch (err) {
    await drain.catch(() => undefined);
    if (!(err instanceof ExecutionError)) throw err;
    return {
      status: 'FAILED',
      summary,
      error: { Error: failedEvent?.Error ?? err.name, Cause: String(failedEvent?.Cause ?? err.message) },
      path,
      maxInFlight,
    };
  }
}
