// Owns what the wake page shows of an environment, from its records only (actions.json, the
// lock's step, wake.json) and never by asking the cluster or the database: asleep / waking /
// awake until HH:MM, and while waking the run's steps (database starting → available →
// workloads ready → health answering), the time elapsed and the time left by the estimate.
import type { Environment } from '../config/schema.ts';
import { recordKeys, type StateStore } from '../gateways/store.ts';
import { findLastChange } from '../records/actions.ts';
import type { LastChange } from '../records/legacy-state.ts';
import { readLock } from '../records/lock.ts';
import { readWake, type Wake } from '../records/wake.ts';
import { wakeInEffect, wakePhase } from '../run/wake-rules.ts';
import type { Eta } from './eta.ts';

export type WakeState = 'asleep' | 'waking' | 'awake' | 'going-to-sleep';

export const WAKE_STEPS = [
  'database starting',
  'database available',
  'workloads ready',
  'health answering',
] as const;
export type StepStatus = 'done' | 'current' | 'pending';

export interface WakeView {
  environment: string;
  state: WakeState;
  /** The wake keeping it awake (or waking it), when there is one. */
  wake: Wake | null;
  steps: { name: (typeof WAKE_STEPS)[number]; status: StepStatus }[];
  /** The lock's step while a run holds it (the workflow state's name). */
  runStep: string | null;
  /** Seconds since the wake was made (waking only). */
  elapsedSeconds: number | null;
  /** Seconds left by the estimate's p50 (waking only; null without an estimate). */
  leftSeconds: number | null;
  eta: Eta | null;
}

/**
 * How far an up is, from the step its run last entered: an up restores the node groups and
 * starts the database first, then the workloads, then checks health and records its result.
 */
export function stageOfStep(step: string | null): number {
  if (!step) return 0;
  if (/health|cronjob|record result/i.test(step)) return 3;
  if (/keda|scaledobject|statefulset|replica|deployment|autoscaler/i.test(step)) return 2;
  return 0;
}

function stepsAt(stage: number): WakeView['steps'] {
  return WAKE_STEPS.map((name, i) => ({
    name,
    status: i < stage ? 'done' : i === stage ? 'current' : 'pending',
  }));
}

function stateOf(wake: Wake | null, last: LastChange | null, now: Date): WakeState {
  if (wakeInEffect(wake, last, now)) return wakePhase(wake, last) === 'awake' ? 'awake' : 'waking';
  if (!last) return 'asleep';
  if (last.action === 'down') return last.result === 'running' ? 'going-to-sleep' : 'asleep';
  if (last.result === 'failed') return 'asleep';
  return last.result === 'running' ? 'waking' : 'awake';
}

export async function readWakeView(
  store: StateStore,
  env: Environment,
  /** The estimate, asked for once the state is known (a cache may key it by the last change). */
  etaFor: (last: LastChange | null) => Promise<Eta | null>,
  now: Date,
): Promise<WakeView> {
  const keys = recordKeys(env, '_');
  const [wakeRead, latest, lock] = await Promise.all([
    readWake(store, env),
    store.getJson(keys.actions),
    readLock(store, keys.lock),
  ]);
  const last = await findLastChange(store, env, latest);
  const eta = await etaFor(last);
  const wake = wakeRead?.wake ?? null;
  const state = stateOf(wake, last, now);
  const runStep = typeof lock?.info.step === 'string' ? lock.info.step : null;
  const shown = wake && wakeInEffect(wake, last, now) ? wake : null;
  const elapsed =
    state === 'waking' && shown
      ? Math.max(0, Math.round((now.getTime() - Date.parse(shown.created)) / 1000))
      : null;
  return {
    environment: `${env.customer}/${env.environment}`,
    state,
    wake: shown,
    steps:
      state === 'awake'
        ? stepsAt(WAKE_STEPS.length)
        : state === 'waking'
          ? stepsAt(stageOfStep(runStep))
          : stepsAt(-1),
    runStep,
    elapsedSeconds: elapsed,
    leftSeconds: elapsed !== null && eta ? Math.max(0, eta.p50 - elapsed) : null,
    eta,
  };
}

/** Where the application answers: the configured url, else its first health URL's origin. */
export function applicationUrl(env: Environment, configured: string | null): string | null {
  if (configured) return configured;
  const health = env.deployments.find((d) => d.healthUrl)?.healthUrl;
  if (!health) return null;
  try {
    return `${new URL(health).origin}/`;
  } catch {
    return null;
  }
}
