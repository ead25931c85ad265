// Runs the workflow in-process on aws-local-stepfunctions: the ASL generated from the one
// workflow construct (cli/definitions.ts; or a given one, e.g. taken from the synthesized template), each
// Task state mapped to its real handler, events streamed to the caller.
import { randomBytes } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { CimError, ErrorNames } from '#core/errors';
import { Steps, TaskSteps, WaitSteps } from '#core/steps';
import { type Deps, type RunContext, recordFailure } from '#core/workflow-steps';
import { localTaskHandlers } from '#handlers/index';
import { engineValidation, workflowDefinition } from './definitions.ts';

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
  /** Milliseconds before a Retry (tests use 0); the definition's intervals when absent. */
  retryOverrides?: Record<string, number>;
  /**
   * Stop at a safe point when this fires (SIGINT/SIGTERM): a Task in flight finishes, the
   * next one is not started, a Wait is cut short; the run is recorded as interrupted.
   */
  interrupt?: AbortSignal;
  /** Tests: gives the caller the engine's abort, to simulate a process that dies mid-run. */
  onStart?: (abort: () => void) => void;
}

const machines = new WeakMap<object, StateMachine>();

/** Validating a definition costs far more than running it: one engine machine per definition. */
export function machineFor(definition: Record<string, unknown>): StateMachine {
  let machine = machines.get(definition);
  if (!machine) {
    // biome-ignore lint/suspicious/noExplicitAny: the engine takes its own ASL type; ours is plain JSON
    machine = new StateMachine(definition as any, { validationOptions: engineValidation(definition) });
    machines.set(definition, machine);
  }
  return machine;
}

/** Every Task state, with no wait before a Retry: for tests. */
export const noRetryWaits = (): Record<string, number> => Object.fromEntries(TaskSteps.map((s) => [s, 0]));

export async function runLocal(o: LocalRunOptions): Promise<LocalRun> {
  const machine = machineFor(o.definition ?? (await workflowDefinition('environment')));
  // Unique per run: the lock is owned by the execution, and two runs started in the same
  // millisecond must not share it.
  const id =
    o.executionId ??
    `arn:aws:states:local:000000000000:execution:cim:${Date.now()}-${randomBytes(4).toString('hex')}`;
  const recording = new Set<string>([Steps.recordResult, Steps.recordFailure]);
  const interrupted = () =>
    new CimError(
      ErrorNames.Interrupted,
      'interrupted by a signal (SIGINT/SIGTERM) at a safe point; the run stopped before its next step',
    );
  const wrap = (state: string, fn: (input: unknown) => Promise<unknown>) => {
    const inner = o.wrapTask ? o.wrapTask(state, fn) : fn;
    return async (input: unknown) => {
      // Safe point: between Tasks. Recording always runs to the end.
      if (o.interrupt?.aborted && !recording.has(state)) throw interrupted();
      return inner(input);
    };
  };
  const execution = machine.run(o.input as never, {
    overrides: {
      // biome-ignore lint/suspicious/noExplicitAny: JSON in, JSON out
      taskResourceLocalHandlers: localTaskHandlers(o.deps, wrap) as any,
      ...(o.waitOverrides ? { waitTimeOverrides: o.waitOverrides } : {}),
      ...(o.retryOverrides ? { retryIntervalOverrides: o.retryOverrides } : {}),
    },
    context: { Execution: { Id: id, Name: id.split(':').pop(), StartTime: new Date().toISOString() } },
  });
  o.onStart?.(execution.abort);
  const events: EventLog[] = [];
  const path: string[] = [];
  // A Wait can last minutes: an interrupt during one aborts the engine, and the run is
  // recorded here with the context the Wait was holding.
  let waitingWith: RunContext | null = null;
  let abortedInWait: RunContext | null = null;
  const abortIfWaiting = () => {
    if (waitingWith && !abortedInWait) {
      abortedInWait = waitingWith;
      execution.abort();
    }
  };
  o.interrupt?.addEventListener('abort', abortIfWaiting, { once: true });
  const drain = (async () => {
    for await (const e of execution.eventLogs) {
      events.push(e);
      if (e.type === 'StateEntered') {
        path.push(e.state.name);
        if (WaitSteps.includes(e.state.name as never)) {
          waitingWith = e.state.input as unknown as RunContext;
          if (o.interrupt?.aborted) abortIfWaiting();
        }
      }
      if (e.type === 'StateExited' && WaitSteps.includes(e.state.name as never)) waitingWith = null;
      o.onEvent?.(e);
    }
  })();
  try {
    const output = await execution.result;
    await drain;
    return { status: 'SUCCEEDED', output, path, events };
  } catch (err) {
    await drain.catch(() => undefined);
    if (err instanceof ExecutionAbortedError && abortedInWait) {
      const e = interrupted();
      const summary = await recordFailure(o.deps, {
        ...(abortedInWait as RunContext),
        error: { Error: e.name, Cause: e.message },
        failedStep: path.at(-1) ?? 'Wait',
      });
      return { status: 'FAILED', output: summary, error: { Error: e.name, Cause: e.message }, path, events };
    }
    if (err instanceof ExecutionAbortedError) {
      return {
        status: 'FAILED',
        output: null,
        error: { Error: 'Aborted', Cause: 'the execution was aborted' },
        path,
        events,
      };
    }
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
  } finally {
    o.interrupt?.removeEventListener('abort', abortIfWaiting);
  }
}
