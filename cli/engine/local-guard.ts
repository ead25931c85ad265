// Runs the seven-day guard in-process on aws-local-stepfunctions: the same definition as the
// deployed one, its Tasks mapped to the real handlers, its Distributed Map run by the local
// adapter (cli/engine/distributed-map.ts).
import { ExecutionError } from 'aws-local-stepfunctions';
import type { Deps } from '#core/contracts';
import { type GuardSummary, guardOutcomes } from '#core/guard/guard';
import { GuardSteps } from '#core/steps';
import { localHandlers } from '#handlers/index';
import { workflowDefinition } from './definitions.ts';
import { forLocalDistributedMaps, localDistributedMapHandlers } from './distributed-map.ts';
import { type EventLog, machineFor } from './local-environment.ts';
import { withQuotas } from './quotas.ts';

export interface GuardRun {
  status: 'SUCCEEDED' | 'FAILED';
  summary: GuardSummary | null;
  error?: { Error: string; Cause: string };
  /** The guard execution's states, in order (the Map is one state, as in its AWS history). */
  path: string[];
  /** The states entered by the map run's child executions (one per environment), in order. */
  itemPath: string[];
}

export async function runGuardLocal(o: {
  deps: Deps;
  input: unknown;
  executionId?: string;
  /** Called before each "Keep database stopped" (tests advance their clock by the wait). */
  beforeStep?: (input: unknown) => void;
  waitMs?: number;
  /** Wait as the definition says (GUARD_WAIT_SECONDS between looks): `cim guard`. Else waitMs (default 0). */
  realWaits?: boolean;
  /** Every event of the guard execution and of its map run's child executions. */
  onEvent?: (e: EventLog, execution: string) => void;
}): Promise<GuardRun> {
  const local = forLocalDistributedMaps(await workflowDefinition('guard'));
  const machine = machineFor(local.definition);
  const handlers = localHandlers('guard', o.deps);
  const step = handlers[GuardSteps.step];
  if (step && o.beforeStep)
    handlers[GuardSteps.step] = async (input) => {
      o.beforeStep?.(input);
      return step(input);
    };
  const id = o.executionId ?? `arn:aws:states:local:000000000000:execution:cim-guard:${Date.now()}`;
  const itemPath: string[] = [];
  const waitTimeOverrides: Record<string, number> = o.realWaits ? {} : { [GuardSteps.wait]: o.waitMs ?? 0 };
  const maps = localDistributedMapHandlers(local, {
    deps: o.deps,
    handlers,
    executionId: id,
    waitOverrides: waitTimeOverrides,
    onEvent: (e, child) => {
      if (e.type === 'StateEntered') itemPath.push(e.state.name);
      o.onEvent?.(e, child);
    },
  });
  const execution = withQuotas(machine, { account: o.deps }).run(o.input as never, {
    overrides: {
      // biome-ignore lint/suspicious/noExplicitAny: JSON in, JSON out
      taskResourceLocalHandlers: { ...handlers, ...maps } as any,
      waitTimeOverrides,
    },
    context: { Execution: { Id: id, Name: id.split(':').pop(), StartTime: new Date().toISOString() } },
  });
  const path: string[] = [];
  let failed: { Error?: string; Cause?: unknown } | undefined;
  const drain = (async () => {
    for await (const e of execution.eventLogs) {
      o.onEvent?.(e, id);
      if (e.type === 'StateEntered') path.push(e.state.name);
      if (e.type === 'ExecutionFailed') failed = e as { Error?: string; Cause?: unknown };
    }
  })();
  try {
    const output = await execution.result;
    await drain;
    // The state output lists at most a few environments; every one is in the map run's results.
    const summary = output as unknown as GuardSummary;
    const environments = summary.results
      ? await guardOutcomes(o.deps, {
          MapRunArn: '',
          ResultWriterDetails: { Bucket: summary.results.bucket, Key: summary.results.key },
        })
      : summary.environments;
    return { status: 'SUCCEEDED', summary: { ...summary, environments }, path, itemPath };
  } catch (err) {
    await drain.catch(() => undefined);
    if (!(err instanceof ExecutionError)) throw err;
    return {
      status: 'FAILED',
      summary: null,
      error: { Error: failed?.Error ?? err.name, Cause: String(failed?.Cause ?? err.message) },
      path,
      itemPath,
    };
  }
}
