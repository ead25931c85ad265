// Runs the fleet workflow in-process on aws-local-stepfunctions: the same definition as the
// deployed one, its Lambda Tasks mapped to the real handlers, its Distributed Map run by the
// local adapter (cli/engine/distributed-map.ts: items from S3, results to S3), and its child
// Task (startExecution.sync:2) mapped to a local run of the environment workflow.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ExecutionError } from 'aws-local-stepfunctions';
import type { Deps } from '#core/contracts';
import {
  classifyChild,
  type FleetItemOutcome,
  type FleetSummary,
  type FleetSummaryOutput,
  fleetOutcomes,
} from '#core/fleet/fleet';
import { FleetSteps } from '#core/steps';
import { localHandlers } from '#handlers/index';
import { classifyRun, outcomeFields } from '../exit-codes.ts';
import { workflowDefinition } from './definitions.ts';
import { forLocalDistributedMaps, localDistributedMapHandlers } from './distributed-map.ts';
import { type EventLog, machineFor, runLocal } from './local-environment.ts';
import { withQuotas } from './quotas.ts';

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
  /** Every event of the fleet execution and of its map run's child executions (tests measure state sizes). */
  onEvent?: (e: EventLog, execution: string) => void;
  /** Wraps each environment Task (tests). */
  wrapTask?: (
    state: string,
    fn: (input: unknown) => Promise<unknown>,
  ) => (input: unknown) => Promise<unknown>;
}

export interface FleetRun {
  status: 'SUCCEEDED' | 'FAILED';
  /** Record's output, with every environment's outcome read back from the map run's results. */
  summary: FleetSummary | null;
  error?: { Error: string; Cause: string };
  path: string[];
  /** Most child runs that were in flight at once. */
  maxInFlight: number;
}

type Row = ReturnType<typeof outcomeFields>;

/**
 * Each child's row of the exit-code table, put back into the summary: the deployed
 * definition's result selector keeps only the Step Functions fields of a child that succeeded.
 */
function withRows(rows: Map<string, Row>, s: FleetSummary | null): FleetSummary | null {
  return (
    s && {
      ...s,
      environments: s.environments.map((e) => {
        const row = rows.get(e.environment);
        return row && e.outcome === undefined
          ? { ...e, outcome: row.outcome, recorded: row.recorded, lockReleased: row.lockReleased }
          : e;
      }),
    }
  );
}

/** Record's output is constant in size; the per-environment list is read back as Record read it. */
async function withEnvironments(deps: Deps, s: FleetSummaryOutput | null): Promise<FleetSummary | null> {
  if (!s) return null;
  const { notSucceeded, notSucceededOmitted, results, ...rest } = s;
  const environments = results
    ? await fleetOutcomes(deps, {
        MapRunArn: '',
        ResultWriterDetails: { Bucket: results.bucket, Key: results.key },
      })
    : notSucceeded;
  return { ...rest, environments };
}

/** Runs one child (an environment workflow) the way startExecution.sync:2 reports it. */
async function runChild(
  o: FleetRunOptions,
  p: { Name: string; Input: Record<string, unknown> },
  environment: string,
  executionArn: string,
  rows: Map<string, Row>,
  fleetId: string,
) {
  o.onChildStart?.(environment);
  const startDate = Date.now();
  const run = await runLocal({
    deps: o.deps,
    // As Step Functions does for a child started with associateWithParent (the run's trigger).
    input: { ...p.Input, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: fleetId },
    executionId: executionArn,
    executionName: p.Name,
    ...(o.environmentDefinition ? { definition: o.environmentDefinition } : {}),
    ...(o.waitOverrides ? { waitOverrides: o.waitOverrides } : {}),
    ...(o.retryOverrides ? { retryOverrides: o.retryOverrides } : {}),
    ...(o.interrupt ? { interrupt: o.interrupt } : {}),
    ...(o.wrapTask ? { wrapTask: o.wrapTask } : {}),
  });
  const description = { ExecutionArn: executionArn, StartDate: startDate, StopDate: Date.now() };
  // The child's row of the exit-code table, as `cim down` of that environment alone would exit.
  const summary = run.output as { recorded?: boolean | 'nothing-changed'; lock?: string } | null;
  const Outcome = outcomeFields(
    classifyRun({ errorName: run.error?.Error, summary, local: true, dryRun: p.Input.dryRun === true }),
    { summary },
  );
  rows.set(environment, Outcome);
  const [customer = '', env = ''] = environment.split('/');
  if (run.status === 'SUCCEEDED') {
    o.onChildEnd?.(
      classifyChild({
        customer,
        environment: env,
        run: { executionArn, startDate, stopDate: description.StopDate },
        outcome: Outcome,
      }),
    );
    return { ...description, Status: 'SUCCEEDED', Output: run.output };
  }
  const error = run.error ?? { Error: 'Failed', Cause: '' };
  o.onChildEnd?.(
    classifyChild({
      customer,
      environment: env,
      error: { Error: 'States.TaskFailed', Cause: JSON.stringify({ ...description, ...error, Outcome }) },
    }),
  );
  // What startExecution.sync reports for a child that failed.
  const failed = new Error(JSON.stringify({ ...description, Status: 'FAILED', ...error, Outcome }));
  failed.name = 'States.TaskFailed';
  throw failed;
}

/** The child Task's handler, counting the children in flight at once. */
function childTask(o: FleetRunOptions, rows: Map<string, Row>, fleetId: string) {
  const counts = { inFlight: 0, maxInFlight: 0 };
  const child = async (payload: unknown) => {
    const p = payload as { Name: string; Input: Record<string, unknown> };
    const environment = `${p.Input.customer}/${p.Input.environment}`;
    const executionArn = `local:${hostname()}:${process.pid}:${p.Name}:${randomBytes(3).toString('hex')}`;
    counts.inFlight++;
    counts.maxInFlight = Math.max(counts.maxInFlight, counts.inFlight);
    try {
      return await runChild(o, p, environment, executionArn, rows, fleetId);
    } finally {
      counts.inFlight--;
    }
  };
  return { child, counts };
}

/** Reads the fleet execution's events: the path, Record's output, the ExecutionFailed. */
function followFleetEvents(eventLogs: AsyncGenerator<EventLog>, o: FleetRunOptions, id: string) {
  const seen = {
    path: [] as string[],
    recorded: null as FleetSummaryOutput | null,
    failedEvent: undefined as { Error?: string; Cause?: unknown } | undefined,
  };
  const drain = (async () => {
    for await (const e of eventLogs) {
      o.onEvent?.(e, id);
      if (e.type === 'ExecutionFailed') seen.failedEvent = e as { Error?: string; Cause?: unknown };
      if (e.type === 'StateEntered') seen.path.push(e.state.name);
      if (e.type === 'StateExited' && e.state.name === FleetSteps.record)
        seen.recorded = e.state.output as unknown as FleetSummaryOutput;
    }
  })();
  return { seen, drain };
}

export async function runFleetLocal(o: FleetRunOptions): Promise<FleetRun> {
  const local = forLocalDistributedMaps(o.fleetDefinition ?? (await workflowDefinition('fleet')));
  const machine = machineFor(local.definition);
  const rows = new Map<string, Row>();
  const id = o.executionId ?? `local:${hostname()}:${process.pid}:fleet:${randomBytes(3).toString('hex')}`;
  const { child, counts } = childTask(o, rows, id);
  const maps = localDistributedMapHandlers(local, {
    deps: o.deps,
    handlers: { [FleetSteps.runEnvironment]: child },
    executionId: id,
    // With the environments' waits overridden (tests), the start pace takes no time either.
    ...(o.waitOverrides ? { waitOverrides: { [FleetSteps.waitStart]: 0 } } : {}),
    ...(o.retryOverrides ? { retryOverrides: o.retryOverrides } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  });
  const execution = withQuotas(machine, { account: o.deps }).run(o.input as never, {
    overrides: {
      // biome-ignore lint/suspicious/noExplicitAny: JSON in, JSON out
      taskResourceLocalHandlers: { ...localHandlers('fleet', o.deps), ...maps } as any,
      ...(o.retryOverrides ? { retryIntervalOverrides: o.retryOverrides } : {}),
    },
    context: { Execution: { Id: id, Name: id.split(':').pop(), StartTime: new Date().toISOString() } },
  });
  const { seen, drain } = followFleetEvents(execution.eventLogs as AsyncGenerator<EventLog>, o, id);
  try {
    const output = await execution.result;
    await drain;
    return {
      status: 'SUCCEEDED',
      summary: withRows(
        rows,
        await withEnvironments(o.deps, (output as unknown as FleetSummaryOutput) ?? seen.recorded),
      ),
      path: seen.path,
      maxInFlight: counts.maxInFlight,
    };
  } catch (err) {
    await drain.catch(() => undefined);
    if (!(err instanceof ExecutionError)) throw err;
    const { failedEvent } = seen;
    return {
      status: 'FAILED',
      summary: withRows(rows, await withEnvironments(o.deps, seen.recorded)),
      error: { Error: failedEvent?.Error ?? err.name, Cause: String(failedEvent?.Cause ?? err.message) },
      path: seen.path,
      maxInFlight: counts.maxInFlight,
    };
  }
}
