// Runs the synthesized definition on the local engine with the real handlers in a test
// world: Wait states take no real time, the virtual clock jumps by each wait instead.

import { noRetryWaits, runLocal } from '#cli/engine/local-environment';
import type { LocalTaskTokens } from '#cli/engine/task-tokens';
import { WaitSteps } from '#core/steps';
import { environmentDefinition } from './definition.ts';
import type { World } from './world.ts';

// Synthesized once per test run (test/fast-setup.ts), the same for every file.
const definition: Record<string, unknown> = environmentDefinition();

/** The definition is synthesized at import already; kept for files that call it in a beforeAll. */
export function warmUp(): void {
  void definition;
}

export interface WorkflowInput {
  action: string;
  customer?: string;
  environment?: string;
  build?: string;
  user?: string;
  dryRun?: boolean;
  [k: string]: unknown;
}

export interface RunWorkflowOptions {
  /** Wraps each Task's handler (fault injection). */
  wrapTask?: (
    state: string,
    fn: (input: unknown) => Promise<unknown>,
  ) => (input: unknown) => Promise<unknown>;
  onStart?: (abort: () => void) => void;
  interrupt?: AbortSignal;
  executionId?: string;
  /** Real milliseconds for some Wait states (the others take none). */
  waitMs?: Record<string, number>;
  /** Task tokens for the event-driven database wait (the test delivers the events). */
  taskTokens?: LocalTaskTokens;
}

export async function runWorkflow(world: World, input: WorkflowInput, options: RunWorkflowOptions = {}) {
  const waited: number[] = [];
  const run = await runLocal({
    deps: world.deps,
    definition,
    input: { customer: 'alpha', environment: 'dev', user: 'jenkins-user', ...input },
    waitOverrides: { ...Object.fromEntries(WaitSteps.map((w) => [w, 0])), ...options.waitMs },
    retryOverrides: noRetryWaits(),
    ...(options.onStart ? { onStart: options.onStart } : {}),
    ...(options.interrupt ? { interrupt: options.interrupt } : {}),
    ...(options.executionId ? { executionId: options.executionId } : {}),
    ...(options.taskTokens ? { taskTokens: options.taskTokens } : {}),
    wrapTask: (state, fn) => {
      const inner = options.wrapTask ? options.wrapTask(state, fn) : fn;
      return async (event) => {
        const poll = (event as { poll?: { stable: boolean; waitSeconds: number; checks: number } } | null)
          ?.poll;
        // A Wait came before this Task (Start/Stop database also open a poll, with no check yet).
        if (poll && !poll.stable && poll.checks > 0) {
          world.clock.advance(poll.waitSeconds);
          waited.push(poll.waitSeconds);
        }
        return inner(event);
      };
    },
  });
  return { ...run, waited };
}
