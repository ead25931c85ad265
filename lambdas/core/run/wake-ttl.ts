// Owns the deployed time to live of a wake (issue 19): one one-time EventBridge Scheduler
// schedule per environment woken, at the wake's until, that deletes itself after it fires.
// It does not start the environment's down itself: a schedule firing after a manual down and
// a new up would put down an environment the wake no longer holds. It invokes the wake TTL
// function, which decides again from the records (sweepDecision, for that one environment)
// and only then starts the environment workflow's down, under a name made from the wake's
// build, so a retried invocation (or a schedule that fires twice) starts it once.
import { createHash } from 'node:crypto';
import { resolveEnvironment } from '../config/catalog.ts';
import type { Config, Environment } from '../config/schema.ts';
import { CimError, ErrorNames } from '../errors.ts';
import { executionName } from '../fleet/fleet.ts';
import type { Executions } from '../gateways/executions.ts';
import type { StateStore } from '../gateways/store.ts';
import type { WakeSchedules } from '../gateways/wake-schedules.ts';
import { readLastChange } from '../records/actions.ts';
import { readWake, type Wake } from '../records/wake.ts';
import { sweepDecision, wakeExpired } from './wake-rules.ts';
import type { WakeRun, WakeScheduled } from './wake-run.ts';

/** The wake TTL function's environment variable naming the environment workflow (set by the stack). */
export const STATE_MACHINE_ARN_VARIABLE = 'CIM_ENVIRONMENT_STATE_MACHINE_ARN';

/** The schedule group every wake's schedule is in (its own: nothing else is in it). */
export const WAKE_SCHEDULE_GROUP = 'cim-wakes';
const SCHEDULE_NAME_MAX = 64;

/**
 * `cim-wake-<hash of customer/environment>`: one per environment (one wake at a time), the
 * same for the wake, its extensions and its end, within the scheduler's 64 characters
 * whatever the names' lengths.
 */
export function wakeScheduleName(customer: string, environment: string): string {
  const hash = createHash('sha256').update(`${customer}/${environment}`).digest('hex').slice(0, 40);
  return `cim-wake-${hash}`.slice(0, SCHEDULE_NAME_MAX);
}

/** The scheduler's one-time expression, in UTC to the second (its `at()` takes no zone suffix). */
export const atExpression = (iso: string) => `at(${new Date(iso).toISOString().slice(0, 19)})`;

export interface WakeScheduleTarget {
  /** The wake TTL function's ARN and the role the scheduler invokes it as. */
  functionArn: string;
  roleArn: string;
  /** The stack's schedule group (infra/constructs/wake-ttl.ts); WAKE_SCHEDULE_GROUP when not given. */
  group?: string;
}

/**
 * Set by the stack on the function of "Schedule wake down" (infra/constructs/wake-ttl.ts):
 * what its schedules invoke, as whom, in which group. Absent on the local engine.
 */
export const WAKE_TTL_FUNCTION_ARN_VARIABLE = 'CIM_WAKE_TTL_FUNCTION_ARN';
export const WAKE_SCHEDULER_ROLE_ARN_VARIABLE = 'CIM_WAKE_SCHEDULER_ROLE_ARN';
export const WAKE_SCHEDULE_GROUP_VARIABLE = 'CIM_WAKE_SCHEDULE_GROUP';

/** The deployed target from the function's environment, or null (the local engine has no scheduler). */
export function wakeScheduleTargetFrom(vars: Record<string, string | undefined>): WakeScheduleTarget | null {
  const functionArn = vars[WAKE_TTL_FUNCTION_ARN_VARIABLE];
  const roleArn = vars[WAKE_SCHEDULER_ROLE_ARN_VARIABLE];
  const group = vars[WAKE_SCHEDULE_GROUP_VARIABLE];
  if (!functionArn || !roleArn) return null;
  return { functionArn, roleArn, ...(group ? { group } : {}) };
}

/** Why a wake placed on the local engine has no schedule: the sweep puts it down. */
export const LOCAL_WAKE_DOWN =
  'no schedule on the local engine: the wake sweep (run from cron) puts it to sleep when its time is up';

/**
 * "Schedule wake down": the wake's one-time schedule at its until (created, or moved: safe
 * to repeat). Without a scheduler (the local engine) it records nothing remote and says so.
 */
export async function scheduleRunWakeDown(
  scheduler: { schedules: WakeSchedules; target: WakeScheduleTarget } | null,
  env: Pick<Environment, 'customer' | 'environment'>,
  run: WakeRun,
): Promise<WakeScheduled> {
  if (run.outcome === 'joined')
    return { scheduled: false, why: 'joined the wake in effect: its own schedule stands' };
  if (!scheduler) return { scheduled: false, why: LOCAL_WAKE_DOWN };
  const name = await scheduleWakeDown(scheduler.schedules, scheduler.target, env, run.wake);
  return {
    scheduled: true,
    name,
    group: scheduler.target.group ?? WAKE_SCHEDULE_GROUP,
    at: atExpression(run.wake.until),
  };
}

/** On a wake and on each --extend: the schedule at the wake's until (created or moved). */
export async function scheduleWakeDown(
  schedules: WakeSchedules,
  target: WakeScheduleTarget,
  env: Pick<Environment, 'customer' | 'environment'>,
  wake: Pick<Wake, 'until'>,
): Promise<string> {
  const name = wakeScheduleName(env.customer, env.environment);
  await schedules.put({
    name,
    group: target.group ?? WAKE_SCHEDULE_GROUP,
    expression: atExpression(wake.until),
    targetArn: target.functionArn,
    roleArn: target.roleArn,
    input: { customer: env.customer, environment: env.environment },
  });
  return name;
}

/** On --end: the schedule is not needed any more (already gone is fine). */
export async function cancelWakeDown(
  schedules: WakeSchedules,
  env: Pick<Environment, 'customer' | 'environment'>,
): Promise<void> {
  await schedules.remove(wakeScheduleName(env.customer, env.environment), WAKE_SCHEDULE_GROUP);
}

/**
 * The TTL down's build: from the wake's build and its until, so one firing (and its retries,
 * or a schedule that fires twice) names one down, while a renewed or extended wake (same
 * build, another until) names a new one: its first down may have been refused (a hold, a
 * lock) and the name is kept 90 days.
 */
export const ttlDownBuild = (wake: Pick<Wake, 'build' | 'until'>) =>
  `${wake.build.slice(0, 46)}-ttl-${createHash('sha256').update(`${wake.build}|${wake.until}`).digest('hex').slice(0, 12)}`;

/** While the wake's up still runs past its until, the TTL looks again this much later. */
export const TTL_RECHECK_MINUTES = 5;
/** ... and for at most as long as the environment workflow may run (its 6 h timeout). */
export const TTL_RECHECK_FOR_HOURS = 6;

export type TtlOutcome =
  | { outcome: 'no-wake' }
  /** Not expired: an extension, or a newer wake, moved the schedule; that firing decides. */
  | { outcome: 'not-due'; wake: Wake }
  /** The wake had ended (a manual down, --end) or its up failed: nothing to put down. */
  | { outcome: 'ended'; wake: Wake }
  | { outcome: 'down-started'; wake: Wake; executionArn: string; started: boolean }
  /** Expired while its up still runs: the schedule was moved a few minutes on, to look again. */
  | { outcome: 'rescheduled'; wake: Wake; at: string };

/**
 * The wake TTL function: for the ONE environment the schedule names, decide from the records
 * and start its down if the wake is expired and still holds the environment. Reads only; the
 * down records itself as any run does (user `wake:ttl:<user>`), which ends the wake.
 */
export async function ttlDown(
  deps: {
    config: Config;
    configSource: string;
    store: (env: Environment) => StateStore;
    executions: Executions;
    environmentStateMachineArn: string;
    /** Its own schedule, to look again later (deployed: the stack names the target). */
    scheduler: { schedules: WakeSchedules; target: WakeScheduleTarget } | null;
    now: () => Date;
  },
  input: unknown,
): Promise<TtlOutcome> {
  const i = input as { customer?: unknown; environment?: unknown } | null;
  if (typeof i?.customer !== 'string' || typeof i.environment !== 'string')
    throw new CimError(
      ErrorNames.InvalidInput,
      'the wake TTL function expects {"customer": "...", "environment": "..."} (its schedule says which environment)',
    );
  const env = resolveEnvironment(deps.config, i.customer, i.environment, deps.configSource);
  const store = deps.store(env);
  const found = await readWake(store, env);
  if (!found) return { outcome: 'no-wake' };
  const { wake } = found;
  const last = await readLastChange(store, env);
  const now = deps.now();
  const decision = sweepDecision(wake, last, now);
  if (!wakeExpired(wake, now)) return { outcome: 'not-due', wake };
  if (decision.kind === 'keep') {
    // Expired while its up is still running. The schedule has fired and deletes itself, and
    // a failed invocation is retried by Lambda only twice, within minutes: so put the
    // schedule back a few minutes on and look again then, for as long as an up may run.
    const at = new Date(now.getTime() + TTL_RECHECK_MINUTES * 60_000);
    const giveUp = Date.parse(wake.until) + TTL_RECHECK_FOR_HOURS * 3600_000;
    if (!deps.scheduler || at.getTime() > giveUp)
      throw new CimError(
        ErrorNames.ActionRefused,
        `the wake of ${env.customer}/${env.environment} expired at ${wake.until} while its up (build ${wake.build}) is still running${deps.scheduler ? ` after ${TTL_RECHECK_FOR_HOURS} h` : ''}: end the wake (a down) once that up has ended`,
      );
    await scheduleWakeDown(deps.scheduler.schedules, deps.scheduler.target, env, { until: at.toISOString() });
    return { outcome: 'rescheduled', wake, at: at.toISOString() };
  }
  if (decision.kind === 'clear') return { outcome: 'ended', wake };
  const build = ttlDownBuild(wake);
  const started = await deps.executions.start({
    stateMachineArn: deps.environmentStateMachineArn,
    name: executionName(env.customer, env.environment, 'down', build),
    input: {
      action: 'down',
      customer: env.customer,
      environment: env.environment,
      build,
      user: `wake:ttl:${wake.user}`.slice(0, 128),
    },
  });
  return { outcome: 'down-started', wake, ...started };
}
