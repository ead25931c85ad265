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

export async function runFleetLocal(o: FleetRunOptions): Promise<FleetRun> {
  const local = forLocalDistributedMaps(o.fleetDefinition ?? (await workflowDefinition('fleet')));
  const machine = machineFor(local.definition);
  // Each child's row of the exit-code table. The deployed definition's result selector keeps
  // only the Step Functions fields of a child that succeeded, so the rows are put back here.
  const rows = new Map<string, ReturnType<typeof outcomeFields>>();
  const withRows = (s: FleetSummary | null): FleetSummary | null =>
    s && {
      ...s,
      environments: s.environments.map((e) => {
        const row = rows.get(e.environment);
        return row && e.outcome === undefined
          ? { ...e, outcome: row.outcome, recorded: row.recorded, lockReleased: row.lockReleased }
          : e;
      }),
    };
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
        // As Step Functions does for a child started with associateWithParent (the run's trigger).
        input: { ...p.Input, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: id },
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
    } finally {
      inFlight--;
    }
  };
  const id = o.executionId ?? `local:${hostname()}:${process.pid}:fleet:${randomBytes(3).toString('hex')}`;
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
  const path: string[] = [];
  let recorded: FleetSummaryOutput | null = null;
  let failedEvent: { Error?: string; Cause?: unknown } | undefined;
  const drain = (async () => {
    for await (const e of execution.eventLogs as AsyncGenerator<EventLog>) {
      o.onEvent?.(e, id);
      if (e.type === 'ExecutionFailed') failedEvent = e as { Error?: string; Cause?: unknown };
      if (e.type === 'StateEntered') path.push(e.state.name);
      if (e.type === 'StateExited' && e.state.name === FleetSteps.record)
        recorded = e.state.output as unknown as FleetSummaryOutput;
    }
  })();
  // Record's output is constant in size; the per-environment list is read back as Record read it.
  const withEnvironments = async (s: FleetSummaryOutput | null): Promise<FleetSummary | null> => {
    if (!s) return null;
    const { notSucceeded, notSucceededOmitted, results, ...rest } = s;
    const environments = results
      ? await fleetOutcomes(o.deps, {
          MapRunArn: '',
          ResultWriterDetails: { Bucket: results.bucket, Key: results.key },
        })
      : notSucceeded;
    return { ...rest, environments };
  };
  try {
    const output = await execution.result;
    await drain;
    return {
      status: 'SUCCEEDED',
      summary: withRows(await withEnvironments((output as unknown as FleetSummaryOutput) ?? recorded)),
      path,
      maxInFlight,
    };
  } catch (err) {
    await drain.catch(() => undefined);
    if (!(err instanceof ExecutionError)) throw err;
    return {
      status: 'FAILED',
      summary: withRows(await withEnvironments(recorded)),
      error: { Error: failedEvent?.Error ?? err.name, Cause: String(failedEvent?.Cause ?? err.message) },
      path,
      maxInFlight,
    };
  }
}
