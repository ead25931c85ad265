// AWS's Step Functions quotas on the local engine (cli/engine/quotas.ts): each case runs a
// definition that the bare engine would run to the end, and asserts that it fails, or is
// refused, the way AWS fails it: the path of states taken, the error, and what did not run.
import { StateMachine } from 'aws-local-stepfunctions';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EventLog, noRetryWaits, runLocal } from '#cli/engine/local-environment';
import { InMemoryExecutionNames, withQuotas } from '#cli/engine/quotas';
import { MAX_HISTORY_EVENTS, MAX_INLINE_MAP_CONCURRENCY, MAX_PAYLOAD_BYTES } from '#core/aws-limits';
import { Steps, WaitSteps } from '#core/steps';
import { environmentDefinition } from '../support/definition.ts';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

beforeAll(warmUp, 180_000);

let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

/** A JSON string of exactly `bytes` bytes once quoted. */
const blob = (bytes: number) => 'x'.repeat(bytes - 2);
const KB300 = 300 * 1024;

type Json = Record<string, unknown>;
const TASK = 'arn:aws:states:::lambda:invoke';

/** Runs a small definition under the quotas; returns the path, the error and the task calls. */
async function run(
  definition: Json,
  input: unknown,
  handlers: Record<string, (input: unknown) => Promise<unknown>>,
  name = `run-${Math.random().toString(36).slice(2)}`,
  account: object = {},
) {
  const machine = new StateMachine(definition as never);
  const calls: string[] = [];
  const counted = Object.fromEntries(
    Object.entries(handlers).map(([state, fn]) => [
      state,
      async (i: unknown) => {
        calls.push(state);
        return fn(i);
      },
    ]),
  );
  const execution = withQuotas(machine, { account }).run(input as never, {
    overrides: { taskResourceLocalHandlers: counted as never },
    context: { Execution: { Id: `arn:aws:states:local:0:execution:t:${name}`, Name: name } },
  });
  const events: EventLog[] = [];
  for await (const e of execution.eventLogs) events.push(e);
  const outcome = await execution.result.then(
    (output) => ({ status: 'SUCCEEDED' as const, output }),
    () => ({ status: 'FAILED' as const, output: null }),
  );
  const failed = events.find((e) => e.type === 'ExecutionFailed') as
    | { Error?: string; Cause?: string }
    | undefined;
  return {
    ...outcome,
    error: failed ? { Error: String(failed.Error), Cause: String(failed.Cause) } : undefined,
    path: events.flatMap((e) => (e.type === 'StateEntered' ? [e.state.name] : [])),
    calls,
  };
}

describe('262,144 bytes per payload (States.DataLimitExceeded, not catchable)', () => {
  it('a Task of the environment workflow returning 300 KB fails the run, and its Catch to Record failure does not run', async () => {
    const definition = environmentDefinition();
    const states = definition.States as Record<string, { Catch?: { ErrorEquals: string[] }[] }>;
    // The state has a States.ALL Catch: the bare engine would go on to Record failure.
    expect(states[Steps.scaleDown]?.Catch?.[0]?.ErrorEquals).toContain('States.ALL');
    const r = await runWorkflow(
      w,
      { action: 'down', build: '10' },
      {
        wrapTask: (state, fn) =>
          state === Steps.scaleDown
            ? async (i) => ({ ...((await fn(i)) as object), padding: blob(KB300) })
            : fn,
      },
    );
    expect(r.status).toBe('FAILED');
    expect(r.error?.Error).toBe('States.DataLimitExceeded');
    expect(r.error?.Cause).toContain(`Task "${Steps.scaleDown}"`);
    expect(r.error?.Cause).toMatch(/30\d,\d{3} bytes; AWS allows at most 262,144/);
    expect(r.path.at(-1)).toBe(Steps.scaleDown);
    expect(r.path).not.toContain(Steps.recordFailure);
    expect(r.path.some((s) => s.startsWith('Caught'))).toBe(false);
  });

  it('a Task result over the limit skips a States.ALL Catch and its Retry: the path ends at the Task', async () => {
    const def = {
      StartAt: 'Big',
      States: {
        Big: {
          Type: 'Task',
          Resource: TASK,
          Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3, IntervalSeconds: 1 }],
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handle' }],
          End: true,
        },
        Handle: { Type: 'Task', Resource: TASK, End: true },
      },
    };
    const r = await run(def, {}, { Big: async () => ({ data: blob(KB300) }), Handle: async () => ({}) });
    expect(r).toMatchObject({ status: 'FAILED', path: ['Big'], calls: ['Big'] });
    expect(r.error?.Error).toBe('States.DataLimitExceeded');
  });

  it('a result of exactly 262,144 bytes passes, one byte more fails', async () => {
    const def = { StartAt: 'T', States: { T: { Type: 'Task', Resource: TASK, End: true } } };
    // {"d":"..."} adds 8 bytes around the string.
    const ok = await run(def, {}, { T: async () => ({ d: blob(MAX_PAYLOAD_BYTES - 6) }) });
    expect(ok.status).toBe('SUCCEEDED');
    const over = await run(def, {}, { T: async () => ({ d: blob(MAX_PAYLOAD_BYTES - 5) }) });
    expect(over.error?.Cause).toContain('262,145 bytes');
  });

  it('a Pass state whose output grows over the limit stops the run before the next Task is called', async () => {
    const def = {
      StartAt: 'Double',
      States: {
        Double: { Type: 'Pass', Parameters: { 'a.$': '$.half', 'b.$': '$.half' }, Next: 'T' },
        T: { Type: 'Task', Resource: TASK, End: true },
      },
    };
    const r = await run(def, { half: blob(200 * 1024) }, { T: async () => ({}) });
    expect(r).toMatchObject({ status: 'FAILED', path: ['Double'], calls: [] });
    expect(r.error?.Cause).toContain('the output of state "Double"');
  });

  it('a multi-byte character counts as its UTF-8 bytes, and an input over the limit starts nothing', async () => {
    const def = { StartAt: 'T', States: { T: { Type: 'Task', Resource: TASK, End: true } } };
    // 100,000 characters, 300,000 bytes.
    const r = await run(def, { s: '€'.repeat(100_000) }, { T: async () => ({}) });
    expect(r).toMatchObject({ status: 'FAILED', path: [], calls: [] });
    expect(r.error?.Cause).toContain('the execution input is 300,008 bytes');
  });
});

describe('at most 40 concurrent iterations of an inline Map', () => {
  const mapDef = (extra: Json) => ({
    StartAt: 'Each',
    States: {
      Each: {
        Type: 'Map',
        ItemsPath: '$.items',
        ...extra,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'Item',
          States: { Item: { Type: 'Task', Resource: TASK, End: true } },
        },
        End: true,
      },
    },
  });

  it('a definition asking MaxConcurrency 100 is refused before anything runs', async () => {
    await expect(
      run(mapDef({ MaxConcurrency: 100 }), { items: [1] }, { Item: async () => ({}) }),
    ).rejects.toThrow(/Map "Each" asks MaxConcurrency 100; an inline Map runs at most 40/);
  });

  it('an input asking 100 through MaxConcurrencyPath fails the run before any iteration runs', async () => {
    const r = await run(
      mapDef({ MaxConcurrencyPath: '$.concurrency' }),
      { items: [1, 2, 3], concurrency: 100 },
      { Item: async () => ({}) },
    );
    expect(r).toMatchObject({ status: 'FAILED', path: ['Each'], calls: [] });
    expect(r.error?.Error).toBe('InvalidInput');
    expect(r.error?.Cause).toContain('ask for 1 to 40');
  });

  it('an unbounded Map (0) over 100 items runs 40 at once, never more', async () => {
    let inFlight = 0;
    let most = 0;
    const started: (() => void)[] = [];
    const r = run(
      mapDef({ MaxConcurrency: 0 }),
      { items: Array.from({ length: 100 }, (_, i) => i) },
      {
        Item: () => {
          most = Math.max(most, ++inFlight);
          return new Promise((resolve) =>
            started.push(() => {
              inFlight--;
              resolve({});
            }),
          );
        },
      },
    );
    // Release the iterations in waves as they arrive, until all 100 are done.
    let released = 0;
    while (released < 100) {
      await new Promise((resolve) => setImmediate(resolve));
      const wave = started.splice(0);
      released += wave.length;
      for (const done of wave) done();
    }
    expect((await r).status).toBe('SUCCEEDED');
    expect(most).toBe(MAX_INLINE_MAP_CONCURRENCY);
  });
});

describe('execution names: 80 characters of [A-Za-z0-9_-], unique per state machine', () => {
  const def = { StartAt: 'T', States: { T: { Type: 'Task', Resource: TASK, End: true } } };
  const h = { T: async () => ({}) };

  it('an 81-character name is refused and runs nothing', async () => {
    await expect(run(def, {}, h, 'a'.repeat(81))).rejects.toThrow(/is 81 characters; AWS allows at most 80/);
    expect((await run(def, {}, h, 'a'.repeat(80))).status).toBe('SUCCEEDED');
  });

  it('a name with a dot is refused, naming the character', async () => {
    await expect(run(def, {}, h, 'alpha.dev-down-10')).rejects.toThrow(
      /contains "\."; use only letters, digits/,
    );
  });

  it('a reused name answers ExecutionAlreadyExists on the same state machine and account only', async () => {
    const account = {};
    expect((await run(def, {}, h, 'alpha-dev-down-10', account)).status).toBe('SUCCEEDED');
    await expect(run(def, {}, h, 'alpha-dev-down-10', account)).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
    // Another account (test world), another state machine: their own names.
    expect((await run(def, {}, h, 'alpha-dev-down-10', {})).status).toBe('SUCCEEDED');
    const other = { ...def, Comment: 'another state machine' };
    expect((await run(other, {}, h, 'alpha-dev-down-10', account)).status).toBe('SUCCEEDED');
  });

  it('an injected registry sees the names', () => {
    const names = new InMemoryExecutionNames();
    names.claim('sm', 'n');
    expect(() => names.claim('sm', 'n')).toThrow(/already used on this state machine/);
  });

  it('runLocal refuses a reused execution id in the same world before any state runs', async () => {
    const input = { customer: 'alpha', environment: 'dev', user: 'u', action: 'down', build: '10' };
    const options = {
      deps: w.deps,
      definition: environmentDefinition(),
      input,
      executionId: 'arn:aws:states:local:000000000000:execution:cim:alpha-dev-down-10',
      waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
      retryOverrides: noRetryWaits(),
    };
    expect((await runLocal(options)).status).toBe('SUCCEEDED');
    const writes = w.bucket.writes.length;
    await expect(runLocal(options)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    expect(w.bucket.writes.length).toBe(writes);
  });
});

describe('25,000 history events per execution', () => {
  it('a loop of a Task and a Choice fails with States.Runtime when its history passes 25,000 events', async () => {
    const def = {
      StartAt: 'Count',
      States: {
        Count: { Type: 'Task', Resource: TASK, Next: 'More?' },
        'More?': {
          Type: 'Choice',
          Choices: [{ Variable: '$.n', NumericLessThan: 10_000, Next: 'Count' }],
          Default: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    };
    const r = await run(def, { n: 0 }, { Count: async (i) => ({ n: (i as { n: number }).n + 1 }) });
    expect(r.status).toBe('FAILED');
    expect(r.error?.Error).toBe('States.Runtime');
    // ExecutionStarted, then 7 per round: TaskStateEntered, Scheduled, Started, Succeeded,
    // TaskStateExited, ChoiceStateEntered, ChoiceStateExited. 3,571 rounds are 24,998 events.
    expect(r.calls.length).toBe(Math.floor((MAX_HISTORY_EVENTS - 1) / 7));
    expect(r.path).not.toContain('Done');
  });
});
