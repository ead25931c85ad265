// Runs the seven-day guard in-process on aws-local-stepfunctions: the same definition as the
// deployed one, its Tasks mapped to the real handlers.
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { GuardSummary } from '#core/guard';
import { GuardSteps } from '#core/steps';
import type { Deps } from '#core/workflow-steps';
import { localGuardHandlers } from '#handlers/index';
import { engineValidation, workflowDefinition } from './definitions.ts';
import { withQuotas } from './local-quotas.ts';

export interface GuardRun {
  status: 'SUCCEEDED' | 'FAILED';
  summary: GuardSummary | null;
  error?: { Error: string; Cause: string };
  path: string[];
}

export async function runGuardLocal(o: {
  deps: Deps;
  input: unknown;
  executionId?: string;
  /** Called before each "Keep database stopped" (tests advance their clock by the wait). */
  beforeStep?: (input: unknown) => void;
  waitMs?: number;
}): Promise<GuardRun> {
  const definition = await workflowDefinition('guard');
  // biome-ignore lint/suspicious/noExplicitAny: the engine takes its own ASL type; ours is plain JSON
  const machine = new StateMachine(definition as any, { validationOptions: engineValidation(definition) });
  const handlers = localGuardHandlers(o.deps);
  const step = handlers[GuardSteps.step];
  if (step && o.beforeStep)
    handlers[GuardSteps.step] = async (input) => {
      o.beforeStep?.(input);
      return step(input);
    };
  const id = o.executionId ?? `arn:aws:states:local:000000000000:execution:cim-guard:${Date.now()}`;
  const execution = withQuotas(machine, { account: o.deps }).run(o.input as never, {
    overrides: {
      // biome-ignore lint/suspicious/noExplicitAny: JSON in, JSON out
      taskResourceLocalHandlers: handlers as any,
      waitTimeOverrides: { [GuardSteps.wait]: o.waitMs ?? 0 },
    },
    context: { Execution: { Id: id, Name: id.split(':').pop(), StartTime: new Date().toISOString() } },
  });
  const path: string[] = [];
  let failed: { Error?: string; Cause?: unknown } | undefined;
  const drain = (async () => {
    for await (const e of execution.eventLogs) {
      if (e.type === 'StateEntered') path.push(e.state.name);
      if (e.type === 'ExecutionFailed') failed = e as { Error?: string; Cause?: unknown };
    }
  })();
  try {
    const output = await execution.result;
    await drain;
    return { status: 'SUCCEEDED', summary: output as unknown as GuardSummary, path };
  } catch (err) {
    await drain.catch(() => undefined);
    if (!(err instanceof ExecutionError)) throw err;
    return {
      status: 'FAILED',
      summary: null,
      error: { Error: failed?.Error ?? err.name, Cause: String(failed?.Cause ?? err.message) },
      path,
    };
  }
}
