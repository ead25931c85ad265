// Owns the Tasks of a wake on demand in the environment workflow (issue 19), after Prepare
// decided it (run/wake-run.ts): "Record wake" claims wake.json and counts the wake, "Schedule
// wake down" sets its time to live (and "Renew wake", "Schedule renewed wake down", the same
// for a renewal). One function runs them all, told its step by the payload
// ({step, context}). The context is a run context (a wake's up, after "Record intent") or
// Prepare's answer of a renewal (no run): both carry the request and `wakeRun`, and each step
// passes through what it received with its result added.
import * as z from 'zod';
import { resolveEnvironment } from '../config/catalog.ts';
import type { Deps } from '../contracts.ts';
import { CimError, ErrorNames } from '../errors.ts';
import type { WakeSchedules } from '../gateways/wake-schedules.ts';
import type { Wake } from '../records/wake.ts';
import { Steps } from '../steps.ts';
import { recordRunWake, type WakeRun } from './wake-run.ts';
import { scheduleRunWakeDown, type WakeScheduleTarget } from './wake-ttl.ts';

const WakeStepInput = z.looseObject({
  request: z.looseObject({ customer: z.string(), environment: z.string(), build: z.string() }),
  wakeRun: z.object({
    outcome: z.enum(['wake', 'renew', 'joined']),
    wake: z.looseObject({ user: z.string(), created: z.string(), until: z.string(), build: z.string() }),
    replacing: z.string().nullable(),
  }),
});

function parseWakeStep(raw: unknown) {
  const parsed = WakeStepInput.safeParse(raw);
  if (!parsed.success)
    throw new CimError(
      ErrorNames.InvalidInput,
      `its input must carry Prepare's decision of a wake ($.wakeRun): ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`,
    );
  const input = parsed.data;
  return { input, run: input.wakeRun as unknown as WakeRun & { wake: Wake } };
}

const envOfStep = (
  deps: Pick<Deps, 'config' | 'configSource'>,
  r: { customer: string; environment: string },
) => resolveEnvironment(deps.config, r.customer, r.environment, deps.configSource);

/** "Record wake": wake.json claimed and the wake counted in both ledgers, once however often it runs. */
export async function recordWakeStep(deps: Deps, raw: unknown): Promise<unknown> {
  const { input, run } = parseWakeStep(raw);
  const env = envOfStep(deps, input.request);
  const wake = await recordRunWake(deps.store(env), env, run);
  deps.log.info('wake recorded', { outcome: run.outcome, until: wake.until, user: wake.user });
  return input;
}

/** "Schedule wake down": the deployed one-time schedule at the wake's until; locally, none. */
export async function scheduleWakeDownStep(
  deps: Deps,
  scheduler: { schedules: WakeSchedules; target: WakeScheduleTarget } | null,
  raw: unknown,
): Promise<unknown> {
  const { input, run } = parseWakeStep(raw);
  const env = envOfStep(deps, input.request);
  const wakeSchedule = await scheduleRunWakeDown(scheduler, env, run);
  if (!wakeSchedule.scheduled) deps.log.info(wakeSchedule.why);
  return { ...input, wakeSchedule };
}

/** The steps this function runs, by the name the payload gives. */
export const WAKE_STEPS = {
  record: [Steps.recordWake, Steps.renewWake],
  schedule: [Steps.scheduleWakeDown, Steps.scheduleRenewedWakeDown],
} as const;

/** The one entry point: `{step, context}` from the definition's payload. */
export async function wakeStep(
  deps: Deps,
  scheduler: { schedules: WakeSchedules; target: WakeScheduleTarget } | null,
  event: unknown,
): Promise<unknown> {
  const e = event as { step?: unknown; context?: unknown } | null;
  const step = typeof e?.step === 'string' ? e.step : '';
  const label = step || 'Wake step';
  try {
    if ((WAKE_STEPS.record as readonly string[]).includes(step))
      return await recordWakeStep(deps, e?.context);
    if ((WAKE_STEPS.schedule as readonly string[]).includes(step))
      return await scheduleWakeDownStep(deps, scheduler, e?.context);
    throw new CimError(
      ErrorNames.InvalidInput,
      `the wake function expects {"step": one of ${[...WAKE_STEPS.record, ...WAKE_STEPS.schedule].join(', ')}, "context": ...}`,
    );
  } catch (err) {
    if (err instanceof Error && !err.message.startsWith(`${label}: `))
      err.message = `${label}: ${err.message}`;
    throw err;
  }
}
