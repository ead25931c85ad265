// Runs the workflow in-process on aws-local-stepfunctions: the ASL generated from the one
// workflow construct (cli/engine/definitions.ts; or a given one, e.g. taken from the synthesized template), each
// Task state mapped to its real handler, events streamed to the caller.
import { randomBytes } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { Deps, RunContext } from '#core/contracts';
import { CimError, ErrorNames } from '#core/errors';
import { compactSummary, recordFailure } from '#core/run/record';
import { Steps, TaskFunctions, TaskSteps, TokenSteps, WaitSteps } from '#core/steps';
import { localHandlers } from '#handlers/index';
import { engineValidation, workflowDefinition } from './definitions.ts';
import { withQuotas } from './quotas.ts';
import type { LocalWait } from './readiness.ts';
import type { LocalTaskTokens } from './task-tokens.ts';

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
  /** `$$.Execution.Name` (AWS's rules apply: cli/engine/quotas.ts); the id's last part by default. */
  executionName?: string;
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
  /**
   * Task tokens for the `.waitForTaskToken` Tasks (the event-driven database wait), which the
   * engine runs as plain calls: with this, such a Task stores a local token and waits until
   * it is completed or timed out here. Without it (the CLI) those Tasks are not reached:
   * no run context asks for database events locally.
   */
  taskTokens?: LocalTaskTokens;
  /**
   * Waits that end when the resource is ready (the CLI): the Wait states take no time, and
   * after a check that is not stable yet this waits (watch, re-checks) up to the scheduled time.
   */
  localWait?: LocalWait;
}

/** The check Tasks of the poll loops, whose wait `localWait` takes over. */
const CHECK_STEPS = new Set<string>(
  (['check-database', 'check-deployments', 'check-statefulsets', 'check-health'] as const).flatMap(
    (id) => TaskFunctions[id],
  ),
);
/**
 * The Wait states `localWait` takes over: those after the checks above. The others (node
 * groups, autoscalers) keep their scheduled time, or their loops would call EKS and the API
 * server back to back.
 */
const LOCAL_WAIT_STEPS = WaitSteps.filter((w) =>
  (
    [
      Steps.waitDatabaseStart,
      Steps.waitDatabaseStop,
      Steps.waitDeploymentsStart,
      Steps.waitDeploymentsStop,
      Steps.waitStatefulSetsStart,
      Steps.waitStatefulSetsStop,
      Steps.waitHealth,
    ] as readonly string[]
  ).includes(w),
);
/** Under the Tasks' 90 s timeout, which the engine also enforces: a longer wait is cut, the next check comes sooner. */
const LOCAL_WAIT_CAP_MS = 60_000;
const machines = new WeakMap<object, StateMachine>();

/**
 * The engine evaluates a Task's TimeoutSecondsPath against the input after Parameters, Step
 * Functions against the state's input: for the token Tasks (whose Parameters are
 * { FunctionName, Payload: { token, context } }) the path is moved under Payload.context.
 */
function forLocalEngine(definition: Record<string, unknown>): Record<string, unknown> {
  const states = definition.States as Record<string, Record<string, unknown>> | undefined;
  if (!states || !TokenSteps.some((s) => typeof states[s]?.TimeoutSecondsPath === 'string'))
    return definition;
  const copy = structuredClone(definition);
  for (const s of TokenSteps) {
    const state = (copy.States as Record<string, Record<string, unknown>>)[s];
    if (typeof state?.TimeoutSecondsPath === 'string')
      state.TimeoutSecondsPath = state.TimeoutSecondsPath.replace(/^\$/, '$.Payload.context');
  }
  return copy;
}

/** Validating a definition costs far more than running it: one engine machine per definition. */
export function machineFor(definition: Record<string, unknown>): StateMachine {
  let machine = machines.get(definition);
  if (!machine) {
    // biome-ignore lint/suspicious/noExplicitAny: the engine takes its own ASL type; ours is plain JSON
    machine = new StateMachine(forLocalEngine(definition) as any, {
      validationOptions: engineValidation(definition),
    });
    machines.set(definition, machine);
  }
  return machine;
}

/** Every Task state, with no wait before a Retry: for tests. */
export const noRetryWaits = (): Record<string, number> => Object.fromEntries(TaskSteps.map((s) => [s, 0]));

/** Unique per run: the lock is owned by the execution, and two runs started in the same millisecond must not share it. */
const newExecutionId = () =>
  `arn:aws:states:local:000000000000:execution:cim:${Date.now()}-${randomBytes(4).toString('hex')}`;

/** The Tasks that record the run: they always run to the end, interrupt or not. */
const RECORDING = new Set<string>([Steps.recordResult, Steps.recordFailure]);

const interrupted = () =>
  new CimError(
    ErrorNames.Interrupted,
    'interrupted by a signal (SIGINT/SIGTERM) at a safe point; the run stopped before its next step',
  );

type TaskFn = (input: unknown) => Promise<unknown>;

/** A token Task: the function runs with a local token, then the Task waits for it. */
function tokenTask(tokens: LocalTaskTokens, state: string, fn: TaskFn): TaskFn {
  return async (input: unknown) => {
    const { token, done } = tokens.open(state);
    // Not payloadResponseOnly: the engine passes { FunctionName, Payload }, Lambda gets Payload.
    const payload = (input as { Payload?: object }).Payload ?? input;
    await fn({ ...(payload as object), token });
    tokens.waits(state, token);
    return done;
  };
}

/** A check Task whose answer is "not stable yet": waits here (watch, re-checks) up to the scheduled time. */
function checkWithLocalWait(o: LocalRunOptions, state: string, fn: TaskFn): TaskFn {
  return async (input: unknown) => {
    const out = (await fn(input)) as { stable?: boolean; waitSeconds?: number } | null;
    if (out && out.stable === false && typeof out.waitSeconds === 'number')
      await o.localWait?.(
        state,
        input as RunContext,
        async () => ((await fn(input)) as { stable?: boolean } | null)?.stable === true,
        Math.min(out.waitSeconds * 1000, LOCAL_WAIT_CAP_MS),
        o.interrupt,
      );
    return out;
  };
}

/** Each Task's handler as this run calls it, with the interrupt's safe point before it. */
function localTask(o: LocalRunOptions) {
  return (state: string, fn: TaskFn): TaskFn => {
    const tokens = o.taskTokens;
    const call =
      tokens && TokenSteps.includes(state as never)
        ? tokenTask(tokens, state, fn)
        : o.localWait && CHECK_STEPS.has(state)
          ? checkWithLocalWait(o, state, fn)
          : fn;
    const inner = o.wrapTask ? o.wrapTask(state, call) : call;
    return async (input: unknown) => {
      // Safe point: between Tasks. Recording always runs to the end.
      if (o.interrupt?.aborted && !RECORDING.has(state)) throw interrupted();
      return inner(input);
    };
  };
}

/** Starts the environment workflow on the engine, under AWS's quotas. */
function startExecution(machine: StateMachine, o: LocalRunOptions, id: string) {
  const deps = o.taskTokens ? { ...o.deps, taskTokens: o.taskTokens } : o.deps;
  // AWS's quotas (payloads, Map concurrency, names, history) hold for every local execution.
  return withQuotas(machine, { account: o.deps }).run(o.input as never, {
    overrides: {
      // biome-ignore lint/suspicious/noExplicitAny: JSON in, JSON out
      taskResourceLocalHandlers: localHandlers('environment', deps, localTask(o)) as any,
      ...(o.waitOverrides
        ? { waitTimeOverrides: o.waitOverrides }
        : o.localWait
          ? { waitTimeOverrides: Object.fromEntries(LOCAL_WAIT_STEPS.map((w) => [w, 0])) }
          : {}),
      ...(o.retryOverrides ? { retryIntervalOverrides: o.retryOverrides } : {}),
    },
    context: {
      Execution: {
        Id: id,
        Name: o.executionName ?? id.split(':').pop(),
        StartTime: new Date().toISOString(),
      },
      // The engine has no task tokens: a placeholder, replaced per Task by `taskTokens`.
      Task: { Token: 'local' },
    },
  });
}

type Execution = ReturnType<typeof startExecution>;

/**
 * Reads the execution's events into `events` and `path`. A Wait can last minutes: an
 * interrupt during one aborts the engine, and the run is recorded with the context the Wait
 * was holding (`abortedInWait`).
 */
function followEvents(execution: Execution, o: LocalRunOptions) {
  const events: EventLog[] = [];
  const path: string[] = [];
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
  return {
    events,
    path,
    drain,
    abortedInWait: () => abortedInWait,
    stop: () => o.interrupt?.removeEventListener('abort', abortIfWaiting),
  };
}

/** The run that ended in `err`: interrupted in a Wait (recorded here), aborted, or FAILED. */
async function failedRun(
  err: unknown,
  o: LocalRunOptions,
  { events, path, abortedInWait }: ReturnType<typeof followEvents>,
): Promise<LocalRun> {
  const inWait = abortedInWait();
  if (err instanceof ExecutionAbortedError && inWait) {
    const e = interrupted();
    const summary = await recordFailure(o.deps, {
      ...(inWait as RunContext),
      error: { Error: e.name, Cause: e.message },
      failedStep: path.at(-1) ?? 'Wait',
    });
    return {
      status: 'FAILED',
      output: compactSummary(summary),
      error: { Error: e.name, Cause: e.message },
      path,
      events,
    };
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
}

export async function runLocal(o: LocalRunOptions): Promise<LocalRun> {
  const machine = machineFor(o.definition ?? (await workflowDefinition('environment')));
  const id = o.executionId ?? newExecutionId();
  const execution = startExecution(machine, o, id);
  o.onStart?.(execution.abort);
  const followed = followEvents(execution, o);
  try {
    const output = await execution.result;
    await followed.drain;
    return { status: 'SUCCEEDED', output, path: followed.path, events: followed.events };
  } catch (err) {
    await followed.drain.catch(() => undefined);
    return await failedRun(err, o, followed);
  } finally {
    o.taskTokens?.close();
    followed.stop();
  }
}
