// AWS's Step Functions quotas, enforced around every execution of the embedded engine
// (aws-local-stepfunctions enforces none of them), so a definition or a payload that would
// fail on AWS fails here the same way. The numbers and their sources: #core/aws-limits.
//
// How: `runWithQuotas` stands in for `machine.run`. It checks the name and the input before
// starting, wraps every Task handler (task input and result), and watches the engine's event
// stream (state inputs and outputs, Map concurrency, history size). A violation aborts the
// engine, so no Retry or Catch of the definition runs (on AWS, States.ALL does not match
// States.DataLimitExceeded or States.Runtime), and the caller sees a FAILED execution whose
// events end at the violation with an ExecutionFailed naming the state and the size.
import { createHash } from 'node:crypto';
import { ExecutionError, type StateMachine } from 'aws-local-stepfunctions';
import {
  EXECUTION_NAME_PATTERN,
  EXECUTION_NAME_REUSE_DAYS,
  MAX_DISTRIBUTED_MAP_CONCURRENCY,
  MAX_EXECUTION_NAME_LENGTH,
  MAX_HISTORY_EVENTS,
  MAX_INLINE_MAP_CONCURRENCY,
  MAX_PAYLOAD_BYTES,
  payloadBytes,
} from '#core/aws-limits';
import { CimError, ErrorNames } from '#core/errors';

type Run = ReturnType<StateMachine['run']>;
type RunOptions = NonNullable<Parameters<StateMachine['run']>[1]>;
type EngineEvent = Run['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type Json = Record<string, unknown>;
type Handler = (input: unknown) => Promise<unknown>;

/** Names already used, per state machine: AWS refuses a reused one for 90 days. */
export interface ExecutionNames {
  /** Records `name` for `stateMachine`; throws ExecutionAlreadyExists if it was used. */
  claim(stateMachine: string, name: string): void;
}

export class InMemoryExecutionNames implements ExecutionNames {
  private readonly used = new Map<string, Set<string>>();
  claim(stateMachine: string, name: string): void {
    const names = this.used.get(stateMachine) ?? new Set<string>();
    this.used.set(stateMachine, names);
    if (names.has(name))
      throw new CimError(
        ErrorNames.ExecutionAlreadyExists,
        `execution name "${name}" was already used on this state machine: AWS refuses a reused name for ` +
          `${EXECUTION_NAME_REUSE_DAYS} days, running or closed; start it under a new name (a new build id)`,
      );
    names.add(name);
  }
}

const processNames = new InMemoryExecutionNames();
const namesByAccount = new WeakMap<object, ExecutionNames>();

export interface QuotaOptions {
  /**
   * Whose names these are: one registry per object (the runners pass their Deps, so a test
   * world is one account); the process's own registry without it.
   */
  account?: object;
  /** Replaces the in-memory registry (e.g. one that outlives the process). */
  executionNames?: ExecutionNames;
}

/** Thrown before anything runs: the name breaks StartExecution's rules. */
export function checkExecutionName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0)
    throw new CimError(
      ErrorNames.InvalidName,
      'the execution has no name: give it 1 to 80 characters of [A-Za-z0-9_-]',
    );
  if (name.length > MAX_EXECUTION_NAME_LENGTH)
    throw new CimError(
      ErrorNames.InvalidName,
      `execution name "${name}" is ${name.length} characters; AWS allows at most ${MAX_EXECUTION_NAME_LENGTH}: shorten it (a readable prefix plus a hash)`,
    );
  if (!EXECUTION_NAME_PATTERN.test(name)) {
    const bad = [...new Set(name.replace(/[A-Za-z0-9_-]/g, ''))].map((c) => JSON.stringify(c)).join(', ');
    throw new CimError(
      ErrorNames.InvalidName,
      `execution name "${name}" contains ${bad}; use only letters, digits, "-" and "_" (what AWS accepts and logs)`,
    );
  }
  return name;
}

interface StateInfo {
  type: string;
  /** Task: history events per attempt (Scheduled, Started, [Submitted,] Succeeded|Failed). */
  attemptEvents: number;
  /** The DISTRIBUTED Map whose item processor holds this state: its events are a child's history. */
  distributedParent: string | null;
  distributed: boolean;
  map?: { maxConcurrency?: number; maxConcurrencyPath?: string; inputPath?: string };
}

interface Checked {
  key: string;
  states: Map<string, StateInfo>;
}

const checkedMachines = new WeakMap<StateMachine, Checked>();

/**
 * Walks the definition once per engine machine: every state's type and history cost, and
 * the Maps' concurrency (an inline Map asking for more than 40 is refused here).
 */
function checkDefinition(machine: StateMachine): Checked {
  const known = checkedMachines.get(machine);
  if (known) return known;
  const definition = (machine as unknown as { definition: Json }).definition;
  const states = new Map<string, StateInfo>();
  const walk = (scope: Json, distributedParent: string | null) => {
    for (const [name, raw] of Object.entries((scope.States ?? {}) as Record<string, Json>)) {
      const type = String(raw.Type);
      const resource = typeof raw.Resource === 'string' ? raw.Resource : '';
      const info: StateInfo = {
        type,
        attemptEvents: type === 'Task' ? (/\.sync(:\d+)?$|\.waitForTaskToken$/.test(resource) ? 4 : 3) : 0,
        distributedParent,
        distributed: false,
      };
      if (type === 'Map') {
        const processor = (raw.ItemProcessor ?? raw.Iterator) as Json | undefined;
        const mode = (processor?.ProcessorConfig as Json | undefined)?.Mode;
        info.distributed = mode === 'DISTRIBUTED';
        const max = typeof raw.MaxConcurrency === 'number' ? raw.MaxConcurrency : undefined;
        const limit = info.distributed ? MAX_DISTRIBUTED_MAP_CONCURRENCY : MAX_INLINE_MAP_CONCURRENCY;
        if (max !== undefined && max > limit)
          throw new CimError(
            ErrorNames.InvalidDefinition,
            `Map "${name}" asks MaxConcurrency ${max}; ${info.distributed ? 'a Distributed' : 'an inline'} Map runs at most ${limit} ` +
              `iterations at once on AWS: set at most ${limit}${info.distributed ? '' : ', or use a Distributed Map'}`,
          );
        info.map = {
          ...(max !== undefined ? { maxConcurrency: max } : {}),
          ...(typeof raw.MaxConcurrencyPath === 'string'
            ? { maxConcurrencyPath: raw.MaxConcurrencyPath }
            : {}),
          ...(typeof raw.InputPath === 'string' ? { inputPath: raw.InputPath } : {}),
        };
        if (processor) walk(processor, info.distributed ? name : distributedParent);
      }
      if (type === 'Parallel')
        for (const branch of (raw.Branches ?? []) as Json[]) walk(branch, distributedParent);
      states.set(name, info);
    }
  };
  walk(definition, null);
  const key = createHash('sha256').update(JSON.stringify(definition)).digest('hex');
  const checked = { key, states };
  checkedMachines.set(machine, checked);
  return checked;
}

/** `$`, `$.a.b`, `$.a[0]`, `$['a']`: the reference paths a MaxConcurrencyPath uses. */
function readPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  const parts = path.replace(/^\$/, '').match(/\.[^.[\]]+|\[\d+\]|\['[^']*'\]/g);
  if (!parts || parts.join('') !== path.slice(1)) return undefined;
  let v = value;
  for (const p of parts) {
    const key = p.startsWith('.') ? p.slice(1) : p.startsWith("['") ? p.slice(2, -2) : Number(p.slice(1, -1));
    v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined;
  }
  return v;
}

const dataLimit = (what: string, bytes: number) =>
  new CimError(
    ErrorNames.DataLimitExceeded,
    `${what} is ${bytes.toLocaleString('en-US')} bytes; AWS allows at most ${MAX_PAYLOAD_BYTES.toLocaleString('en-US')} ` +
      '(262,144 bytes of UTF-8 JSON per state input/output, task result, execution input/output); no Retry or Catch handles this',
  );

/**
 * History events per engine event, the way a Standard execution's history counts them:
 * - ExecutionStarted 1; ExecutionSucceeded/Failed/Aborted/TimedOut 1.
 * - Every state: <Type>StateEntered 1 and <Type>StateExited 1 (a caught failure exits too);
 *   a Fail state has no Exited (the ExecutionFailed follows).
 * - Task, per attempt (the first and each retry): TaskScheduled, TaskStarted and
 *   TaskSucceeded|TaskFailed = 3; `.sync` and `.waitForTaskToken` add TaskSubmitted = 4.
 * - Inline Map: MapStateStarted 1, MapIterationStarted and Succeeded|Failed per item, the
 *   iterations' own states, MapStateSucceeded|Failed 1. Parallel: Started 1, Succeeded|Failed 1,
 *   the branches' states.
 * - Distributed Map: MapRunStarted 1 and MapRunSucceeded|Failed 1 in the parent; each item is a
 *   child execution with its own history (counted apart, same limit).
 * - Choice, Pass, Wait, Succeed: only Entered and Exited.
 */
function historyCost(e: EngineEvent, info: StateInfo | undefined): number {
  switch (e.type) {
    case 'ExecutionStarted':
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'ExecutionAborted':
    case 'ExecutionTimeout':
      return 1;
    case 'StateEntered':
      return 1 + (info?.attemptEvents ?? 0) + (info?.type === 'Map' || info?.type === 'Parallel' ? 1 : 0);
    case 'StateExited':
      return 1 + (info?.type === 'Map' || info?.type === 'Parallel' ? 1 : 0);
    case 'StateRetried':
      return info?.attemptEvents || 1;
    case 'StateFailed':
      return info?.type === 'Map' || info?.type === 'Parallel' ? 1 : 0;
    case 'StateCaught':
      return 1;
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
      return 1;
    default:
      return 0;
  }
}

/** Calls `fn` once per engine event; the stream ends when the engine's does. */
class EventQueue {
  private readonly items: EngineEvent[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  push(e: EngineEvent) {
    this.items.push(e);
    this.wake?.();
  }
  close() {
    this.closed = true;
    this.wake?.();
  }
  async *events(): AsyncGenerator<EngineEvent> {
    while (true) {
      const e = this.items.shift();
      if (e) {
        yield e;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }
}

/** The registry that holds this execution's names: given, the account's, or the process's. */
function namesFor(q: QuotaOptions): ExecutionNames {
  return (
    q.executionNames ??
    (q.account
      ? (namesByAccount.get(q.account) ??
        (namesByAccount.set(q.account, new InMemoryExecutionNames()).get(q.account) as ExecutionNames))
      : processNames)
  );
}

type Waiter = { state: string; ticket: number; go: () => void };

/**
 * One execution's watch: the first violation (which aborts the engine), the handlers still
 * running, and the gate that holds a Task's handler until the event stream reached its entry.
 */
class Watch {
  violation: CimError | null = null;
  engine: Run | null = null;
  // Handlers still running when a violation aborts the engine (other Map iterations): the
  // result waits for them, so nothing of this execution runs after the caller has its answer.
  readonly inFlight = new Set<Promise<unknown>>();
  // The engine calls a Task's handler in the same tick as it logs the state's StateEntered
  // (or StateRetried), but the event stream is read asynchronously. A handler first waits
  // until the stream has been read up to its own entry, so whatever came before it (a Pass
  // output over the limit, a Map asking too much, the history limit) stops it before it has
  // any side effect. Per state: entries read vs. handler calls made.
  readonly entries = new Map<string, number>();
  pumped = false;
  readonly calls = new Map<string, number>();
  private waiting: Waiter[] = [];

  violate(err: CimError): void {
    if (this.violation) return;
    this.violation = err;
    this.engine?.abort();
  }

  /** Resolves once the stream has read `state`'s entry number `ticket` (or nothing more will come). */
  wait(state: string, ticket: number): Promise<void> {
    return new Promise<void>((go) => this.waiting.push({ state, ticket, go }));
  }

  release(all = false): void {
    const ready = this.waiting.filter((x) => all || (this.entries.get(x.state) ?? 0) >= x.ticket);
    this.waiting = this.waiting.filter((x) => !ready.includes(x));
    for (const x of ready) x.go();
  }
}

// Not retryable by the engine (`isRetryable`); a Catch it may still pick is never entered,
// because the engine is already aborted and stops before its next state.
const stopped = () =>
  Object.assign(new Error('stopped: the execution exceeded an AWS quota'), { isRetryable: false });

/** A Task's handler behind the gate, with its input and its result held to the payload limit. */
function wrapHandler(watch: Watch, state: string, fn: Handler): Handler {
  return async (taskInput) => {
    const ticket = (watch.calls.get(state) ?? 0) + 1;
    watch.calls.set(state, ticket);
    if ((watch.entries.get(state) ?? 0) < ticket && !watch.violation && !watch.pumped)
      await watch.wait(state, ticket);
    if (watch.violation) throw stopped();
    const inBytes = payloadBytes(taskInput);
    if (inBytes > MAX_PAYLOAD_BYTES) {
      watch.violate(dataLimit(`the input of Task "${state}" (after Parameters)`, inBytes));
      throw stopped();
    }
    const call = fn(taskInput);
    watch.inFlight.add(call);
    try {
      const result = await call;
      if (watch.violation) throw stopped();
      const outBytes = payloadBytes(result);
      if (outBytes > MAX_PAYLOAD_BYTES) {
        watch.violate(dataLimit(`the result of Task "${state}"`, outBytes));
        throw stopped();
      }
      return result;
    } finally {
      watch.inFlight.delete(call);
    }
  };
}

const failWith = (err: CimError) =>
  ({ type: 'ExecutionFailed', timestamp: Date.now(), Error: err.name, Cause: err.message }) as EngineEvent;

/** The execution input over the limit: nothing starts, the engine is never given this input. */
function refusedInput(inputBytes: number): Run {
  const out = new EventQueue();
  const err = dataLimit('the execution input', inputBytes);
  out.push(failWith(err));
  out.close();
  return {
    abort: () => undefined,
    eventLogs: out.events(),
    result: Promise.reject(new ExecutionError(err as never)),
  };
}

/** Adds each engine event's history cost: to the execution, or to a Distributed Map item's child. */
function historyCounter(checked: Checked, watch: Watch): (e: EngineEvent) => void {
  let history = 0;
  const children = new Map<string, number>();
  return (e) => {
    const stateName = 'state' in e ? e.state.name : null;
    const info = stateName ? checked.states.get(stateName) : undefined;
    const parentMap = 'parentState' in e ? checked.states.get(e.parentState.name) : undefined;
    let cost = historyCost(e, info);
    if (parentMap?.distributed) cost = 0; // a child execution's start/end, not the parent's
    if (info?.distributed && e.type === 'StateEntered') cost = 2; // Entered + MapRunStarted
    if (info?.distributedParent && 'index' in e) {
      const child = `${info.distributedParent}#${String(e.index)}`;
      const n = (children.get(child) ?? 2) + cost; // with its ExecutionStarted/Succeeded
      children.set(child, n);
      if (n > MAX_HISTORY_EVENTS)
        watch.violate(
          historyLimit(
            `the child execution of Distributed Map "${info.distributedParent}" item ${String(e.index)}`,
            n,
          ),
        );
      return;
    }
    history += cost;
    if (history > MAX_HISTORY_EVENTS) watch.violate(historyLimit('the execution', history));
  };
}

/** The quota an event breaks (a state's input or output, a Map's asked concurrency, the output), if any. */
function eventViolation(checked: Checked, e: EngineEvent): CimError | undefined {
  if (e.type === 'StateEntered') {
    const bytes = payloadBytes(e.state.input);
    if (bytes > MAX_PAYLOAD_BYTES) return dataLimit(`the input of state "${e.state.name}"`, bytes);
    const map = checked.states.get(e.state.name)?.map;
    if (map?.maxConcurrencyPath) {
      const source = map.inputPath ? readPath(e.state.input, map.inputPath) : e.state.input;
      const asked = readPath(source, map.maxConcurrencyPath);
      const info = checked.states.get(e.state.name);
      const limit = info?.distributed ? MAX_DISTRIBUTED_MAP_CONCURRENCY : MAX_INLINE_MAP_CONCURRENCY;
      if (typeof asked === 'number' && asked > limit)
        return new CimError(
          ErrorNames.InvalidInput,
          `Map "${e.state.name}" was asked (${map.maxConcurrencyPath}) for ${asked} iterations at once; ` +
            `${info?.distributed ? 'a Distributed' : 'an inline'} Map runs at most ${limit} on AWS: ask for 1 to ${limit}`,
        );
    }
  }
  if (e.type === 'StateExited') {
    const bytes = payloadBytes(e.state.output);
    if (bytes > MAX_PAYLOAD_BYTES) return dataLimit(`the output of state "${e.state.name}"`, bytes);
  }
  if (e.type === 'ExecutionSucceeded') {
    const bytes = payloadBytes(e.output);
    if (bytes > MAX_PAYLOAD_BYTES) return dataLimit('the execution output', bytes);
  }
  return undefined;
}

/** Reads the engine's events: counts and checks each, opens the gate, passes on what AWS would log. */
async function pumpEvents(run: Run, checked: Checked, watch: Watch, out: EventQueue): Promise<void> {
  const count = historyCounter(checked, watch);
  for await (const e of run.eventLogs) {
    if (watch.violation) continue;
    count(e);
    if (!watch.violation) {
      const err = eventViolation(checked, e);
      if (err) watch.violate(err);
    }
    if (e.type === 'StateEntered' || e.type === 'StateRetried')
      watch.entries.set(e.state.name, (watch.entries.get(e.state.name) ?? 0) + 1);
    watch.release(watch.violation !== null);
    // The state that broke the quota was entered (the path shows it); what follows is not
    // in AWS's history: the execution ends here.
    if (!watch.violation || e.type === 'StateEntered') out.push(e);
  }
  watch.pumped = true;
  watch.release(true);
  if (watch.violation) out.push(failWith(watch.violation));
  out.close();
}

/** The engine's result, or the violation once the events are read and the handlers have settled. */
async function resultOf(run: Run, pump: Promise<void>, watch: Watch): Promise<unknown> {
  try {
    const output = await run.result;
    await pump;
    if (watch.violation) throw new ExecutionError(watch.violation as never);
    return output;
  } catch (err) {
    await pump;
    if (!watch.violation) throw err;
    await Promise.allSettled([...watch.inFlight]);
    throw err instanceof ExecutionError && err.cause === watch.violation
      ? err
      : new ExecutionError(watch.violation as never);
  }
}

/**
 * `machine.run(input, options)` with AWS's quotas. Throws (nothing started) for an invalid
 * or reused execution name and for a definition that asks an inline Map for more than 40;
 * every other violation ends the execution FAILED, past any Retry or Catch.
 */
export function runWithQuotas(
  machine: StateMachine,
  input: unknown,
  options: RunOptions,
  q: QuotaOptions = {},
): Run {
  const checked = checkDefinition(machine);
  const name = checkExecutionName(options.context?.Execution?.Name);
  namesFor(q).claim(checked.key, name);

  const watch = new Watch();
  const overrides = options.overrides ?? {};
  const handlers = (overrides.taskResourceLocalHandlers ?? {}) as Record<string, Handler>;
  const wrapped: Record<string, Handler> = {};
  for (const [state, fn] of Object.entries(handlers)) wrapped[state] = wrapHandler(watch, state, fn);

  const inputBytes = payloadBytes(input);
  if (inputBytes > MAX_PAYLOAD_BYTES) return refusedInput(inputBytes);

  const run = machine.run(input as never, {
    ...options,
    overrides: { ...overrides, taskResourceLocalHandlers: wrapped as never },
  });
  watch.engine = run;
  const out = new EventQueue();
  const pump = pumpEvents(run, checked, watch, out);
  const result = resultOf(run, pump, watch);
  return { abort: run.abort, eventLogs: out.events(), result: result as Run['result'] };
}

/** The engine machine with `run` under AWS's quotas: a drop-in for `machine.run(...)`. */
export function withQuotas(machine: StateMachine, q: QuotaOptions = {}): { run: StateMachine['run'] } {
  return { run: (input, options) => runWithQuotas(machine, input, options ?? {}, q) };
}

const historyLimit = (what: string, events: number) =>
  new CimError(
    ErrorNames.StatesRuntime,
    `${what} reached ${events.toLocaleString('en-US')} history events; AWS fails an execution at ` +
      `${MAX_HISTORY_EVENTS.toLocaleString('en-US')}: move the loop or the items into child executions (a Distributed Map)`,
  );
