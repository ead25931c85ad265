// Owns STARTING a wake through the deployed environment workflow (issue 19): the deployed wake
// endpoint (lambdas/handlers/wake-endpoint.ts) and `cim wake --remote` both call this. It
// writes nothing: it reads the records (hold, wake, last change, the rate-limit ledgers),
// decides with the same rules as `cim wake` (run/wake-rules.ts), and starts the environment
// workflow's up carrying the wake (RunRequest.wake); the workflow records the wake itself and
// checks the rules again, so a decision made on records that move meanwhile is safe.
//
// Concurrent wakes collapse into ONE execution through its name: it comes from the change the
// environment wakes from (its last change's build), not from the request, so every wake read
// from the same records names the same execution. Step Functions then answers:
// - the same name and input while it runs: the same execution (idempotent), "started";
// - the same name with other input (another person's wake), or a closed execution of that
//   name: ExecutionAlreadyExists. Still running: "joined". Closed while the last change is
//   still the one it woke from (its wake was refused, or it failed before recording
//   anything): the name stays reserved for 90 days, so the next attempt takes the next name
//   (`-a1`, `-a2` …), the same for every concurrent waker again.
import { createHash } from 'node:crypto';
import type { Environment } from '../config/schema.ts';
import { executionName } from '../fleet/fleet.ts';
import {
  type ExecutionReader,
  type ExecutionStatus,
  type Executions,
  executionArnOf,
} from '../gateways/executions.ts';
import type { StateStore } from '../gateways/store.ts';
import { readLastChange } from '../records/actions.ts';
import { readHold } from '../records/hold.ts';
import { readWake, type Wake } from '../records/wake.ts';
import { wakeUser } from '../run/trigger.ts';
import { WakeRequest } from '../run/wake-request.ts';
import { decideWake } from '../run/wake-rules.ts';
import { wakeRateRefusal } from '../run/wake-run.ts';

/** Attempts from one last change before a wake is refused: each is a wake that ended without a change. */
export const MAX_WAKE_ATTEMPTS = 10;
/** A wake's up build starts with this; nothing else makes such builds. */
export const WAKE_BUILD_PREFIX = 'wake-';

export interface StartWakeDeps {
  store(env: Environment): StateStore;
  executions: Executions & ExecutionReader;
  /** The environment workflow (the stack's output StateMachineArn). */
  stateMachineArn: string;
  now(): Date;
}

export type WakeStartOutcome =
  /** This call started the wake's up (or Step Functions answered a start of the same input). */
  | { outcome: 'started'; executionArn: string; build: string }
  /** Another wake's up of the same change is running: this wake is that one. */
  | { outcome: 'joined'; executionArn: string; build: string }
  /** A wake is in effect already: no up (its execution, when it was started by this core). */
  | { outcome: 'existing'; wake: Wake; executionArn: string | null }
  /** Refused by a rule, a hold or a limit; nothing was started. */
  | { outcome: 'refused'; why: string };

const where = (env: Environment) => `${env.customer}/${env.environment}`;
const CLOSED: ReadonlySet<ExecutionStatus> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/**
 * The build of the wake's up from the change it wakes from, and its attempt: at most 59
 * characters of BUILD_PATTERN ("wake-" + the last build, cut and hashed when long, + "-aN").
 */
export function wakeBuild(from: string | null, attempt = 0): string {
  const base = from ?? 'none';
  const readable =
    base.length <= 40
      ? base
      : `${base.slice(0, 40)}-${createHash('sha256').update(base).digest('hex').slice(0, 10)}`;
  return `${WAKE_BUILD_PREFIX}${readable}${attempt > 0 ? `-a${attempt}` : ''}`;
}

/** The execution of a wake's up of this build: its name, and its ARN on the workflow. */
export function wakeExecution(stateMachineArn: string, env: Environment, build: string) {
  const name = executionName(env.customer, env.environment, 'up', build);
  return { name, executionArn: executionArnOf(stateMachineArn, name) };
}

/**
 * Wakes one environment through its deployed workflow: decides from the records, then starts
 * (or joins) the one execution of this wake. Never writes a record.
 */
export async function startWake(
  deps: StartWakeDeps,
  env: Environment,
  request: WakeRequest,
): Promise<WakeStartOutcome> {
  const checked = WakeRequest.safeParse(request);
  if (!checked.success)
    return { outcome: 'refused', why: checked.error.issues.map((i) => i.message).join('; ') };
  const wake = checked.data;
  const store = deps.store(env);
  const [hold, found, last] = await Promise.all([
    readHold(store, env),
    readWake(store, env),
    readLastChange(store, env),
  ]);

  // A wake's up already recorded as running, its wake record not yet written: that execution.
  if (last?.action === 'up' && last.result === 'running' && last.build.startsWith(WAKE_BUILD_PREFIX)) {
    const running = wakeExecution(deps.stateMachineArn, env, last.build);
    if ((await deps.executions.status(running.executionArn)) === 'RUNNING')
      return { outcome: 'joined', executionArn: running.executionArn, build: last.build };
  }

  const now = deps.now();
  const decision = decideWake({
    now,
    where: where(env),
    hold: hold?.hold ?? null,
    wake: found?.wake ?? null,
    last,
  });
  if (decision.kind === 'refused') return { outcome: 'refused', why: decision.why };
  if (decision.kind === 'existing') {
    const w = decision.wake;
    return {
      outcome: 'existing',
      wake: w,
      executionArn: w.build.startsWith(WAKE_BUILD_PREFIX)
        ? wakeExecution(deps.stateMachineArn, env, w.build).executionArn
        : null,
    };
  }
  // An up, or (still up from an expired wake) a renewal: the workflow records either; the
  // limits are checked here first so that a refused wake starts nothing.
  const limited = await wakeRateRefusal(store, env, wake.requester.user, now);
  if (limited) return { outcome: 'refused', why: limited };

  const from = last?.build ?? null;
  for (let attempt = 0; attempt < MAX_WAKE_ATTEMPTS; attempt++) {
    const build = wakeBuild(from, attempt);
    const { name } = wakeExecution(deps.stateMachineArn, env, build);
    const started = await deps.executions.start({
      stateMachineArn: deps.stateMachineArn,
      name,
      input: {
        action: 'up',
        customer: env.customer,
        environment: env.environment,
        build,
        user: wakeUser(wake.requester.user),
        wake,
      },
    });
    if (started.started) return { outcome: 'started', executionArn: started.executionArn, build };
    const status = await deps.executions.status(started.executionArn);
    if (status === null || !CLOSED.has(status))
      return { outcome: 'joined', executionArn: started.executionArn, build };
    // Closed. Did it change the environment (its up is recorded), or end without a change?
    const now2 = await readLastChange(store, env);
    if ((now2?.build ?? null) === build)
      return { outcome: 'joined', executionArn: started.executionArn, build };
    if ((now2?.build ?? null) !== from)
      return {
        outcome: 'refused',
        why: `${where(env)} changed while this wake was started (its last change is now build ${now2?.build}); nothing was started: wake it again`,
      };
  }
  return {
    outcome: 'refused',
    why: `${MAX_WAKE_ATTEMPTS} wakes of ${where(env)} since its last change (build ${from ?? 'none'}) ended without waking it: see their executions (cim history, the Step Functions console) before waking it again`,
  };
}
