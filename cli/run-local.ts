// Runs the workflow in-process on aws-local-stepfunctions: the ASL rendered from the one
// workflow construct (or a given one, e.g. taken from the synthesized template), each
// Task state mapped to its real handler, events streamed to the caller.
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { Deps } from '#core/workflow-steps';
import { localTaskHandlers } from '#handlers/index';
import { renderDefinition } from '#infra/workflow';

export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface LocalRun {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error?: { Error: string; Cause: string };
  /** Names of the states entered, in order. */
  path: string[];
  events: EventLog[];
}

export interface LocalRunOptions {
  deps: Deps;
  input: Record<string, unknown>;
  executionId?: string;
  definition?: Record<string, unknown>;
  onEvent?: (e: EventLog) => void;
  /** Wraps each Task's handler (tests advance a virtual clock by the wait just taken). */
  wrapTask?: (
    state: string,
    fn: (input: unknown) => Promise<unknown>,
  ) => (input: unknown) => Promise<unknown>;
  /** Milliseconds per Wait state (tests use 0); real waits when absent. */
  waitOverrides?: Record<string, number>;
}

let rendered: Record<string, unknown> | undefined;

export async function runLocal(o: LocalRunOptions): Promise<LocalRun> {
  rendered ??= renderDefinition();
  // biome-ignore lint/suspicious/noExplicitAny: the engine takes its own ASL type; ours is plain JSON
  const machine = new StateMachine((o.definition ?? rendered) as any, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const id = o.executionId ?? `arn:aws:states:local:000000000000:execution:cim:${Date.now()}`;
  const execution = machine.run(o.input as never, {
    overrides: {
      // biome-ignore lint/suspicious/noExplicitAny: JSON in, JSON out
      taskResourceLocalHandlers: localTaskHandlers(o.deps, o.wrapTask) as any,
      ...(o.waitOverrides ? { waitTimeOverrides: o.waitOverrides } : {}),
    },
    context: { Execution: { Id: id, Name: id.split(':').pop(), StartTime: new Date().toISOString() } },
  });
  const events: EventLog[] = [];
  const path: string[] = [];
  const drain = (async () => {
    for await (const e of execution.eventLogs) {
      events.push(e);
      if (e.type === 'StateEntered') path.push(e.state.name);
      o.onEvent?.(e);
    }
  })();
  try {
    const output = await execution.result;
    await drain;
    return { status: 'SUCCEEDED', output, path, events };
  } catch (err) {
    await drain;
    if (!(err instanceof ExecutionError)) throw err;
    const failed = events.find((e) => e.type === 'ExecutionFailed') as
      | { Error?: string; Cause?: unknown }
      | undefined;
    const summaryExit = [...events]
      .reverse()
      .find((e) => e.type === 'StateExited' && e.state.name === 'Record failure') as
      | { state: { output?: { summary?: unknown } } }
      | undefined;
    return {
      status: 'FAILED',
      output: summaryExit?.state.output?.summary ?? null,
      error: { Error: failed?.Error ?? err.name, Cause: String(failed?.Cause ?? err.message) },
      path,
      events,
    };
  }
}
