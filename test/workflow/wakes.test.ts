// Wakes on the local engine with the real handlers: a scheduled down of an environment woken
// on demand is skipped by Prepare like a hold's (outcome skipped in the fleet, "awake on
// demand until HH:MM UTC by USER"), a manual down goes ahead, and once the wake has expired
// the scheduled down runs again. A scheduled up of an environment up from a wake takes it over
// (the wake ends). The wake's up carries the trigger `wake`.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noRetryWaits } from '#cli/engine/local-environment';
import { runFleetLocal } from '#cli/engine/local-fleet';
import { ttlDown } from '#core/run/wake-ttl';
import { Steps, WaitSteps } from '#core/steps';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { wokenByAlice } from '../support/wakes.ts';
import { makeWorld, type World } from '../support/world.ts';

beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

/** alpha/dev woken by alice for two hours from the legacy down of build 10 (as cim wake does it). */
async function woken() {
  await wokenByAlice(w);
  expect(w.bucket.json(`${P}/history/w1/actions.json`)).toMatchObject({ trigger: 'wake' });
}

const scheduledDown = () =>
  runFleetLocal({
    deps: w.deps,
    input: {
      action: 'down',
      selection: 'alpha/dev,beta/staging',
      user: 'schedule:weeknights-down',
      schedule: 'weeknights-down',
      scheduledTime: '2026-11-26T21:00:00Z',
    },
    waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
    retryOverrides: noRetryWaits(),
  });

describe('a scheduled down during a wake', () => {
  it('is skipped by Prepare, nothing changed, with until and who', async () => {
    await woken();
    const writes = w.bucket.writes.length;
    const run = await runWorkflow(w, { action: 'down', build: 'd2', user: 'schedule:weeknights-down' });
    expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(run.error?.Error).toBe('EnvironmentOnHold');
    expect(run.error?.Cause).toContain(
      'scheduled down of alpha/dev skipped: awake on demand until 22:00 UTC by alice',
    );
    expect(w.bucket.writes.length).toBe(writes);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBeGreaterThan(0);
  });

  it('is counted as skipped by the fleet, the other environments going down', async () => {
    await woken();
    const run = await scheduledDown();
    const by = Object.fromEntries((run.summary?.environments ?? []).map((e) => [e.environment, e]));
    expect(by['alpha/dev']).toMatchObject({ result: 'skipped', error: { name: 'EnvironmentOnHold' } });
    expect(by['alpha/dev']?.error?.message).toContain('awake on demand until 22:00 UTC by alice');
    expect(by['beta/staging']).toMatchObject({ result: 'succeeded' });
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBeGreaterThan(0);
    expect(w.kube.replicas('beta-staging', 'backend-deployment')).toBe(0);
  });

  it('runs once the wake has expired', async () => {
    await woken();
    w.clock.advance(2 * 3600 + 1);
    const run = await runWorkflow(w, { action: 'down', build: 'd2', user: 'schedule:weeknights-down' });
    expect(run.status).toBe('SUCCEEDED');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
  });
});

describe('a manual down during a wake', () => {
  it('goes ahead', async () => {
    await woken();
    const run = await runWorkflow(w, { action: 'down', build: 'd2', user: 'bob' });
    expect(run.status).toBe('SUCCEEDED');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
  });
});

describe('a scheduled up during a wake', () => {
  it('takes the environment over: the wake ends, so its time to live puts nothing to sleep', async () => {
    await woken();
    const run = await runWorkflow(w, { action: 'up', build: 'u2', user: 'schedule:weekdays-up' });
    expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(run.error?.Error).toBe('ActionRefused');
    expect(run.error?.Cause).toContain(
      'scheduled up of alpha/dev: it is already awake on demand until 22:00 UTC by alice; the schedule takes it over',
    );
    expect(w.bucket.json(`${P}/wake.json`)).toBeUndefined();
    // The wake's time to live comes: nothing to put down, the environment stays up.
    w.clock.advance(2 * 3600 + 1);
    const started: unknown[] = [];
    const outcome = await ttlDown(
      {
        config: w.deps.config,
        configSource: 'test',
        store: w.deps.store,
        executions: {
          start: async (x) => {
            started.push(x);
            return { executionArn: 'arn', started: true };
          },
        },
        environmentStateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:cim',
        scheduler: null,
        now: () => w.clock.now(),
      },
      { customer: 'alpha', environment: 'dev' },
    );
    expect(outcome).toEqual({ outcome: 'no-wake' });
    expect(started).toEqual([]);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBeGreaterThan(0);
  });

  it('leaves a wake alone when the up is not a scheduled one', async () => {
    await woken();
    const run = await runWorkflow(w, { action: 'up', build: 'u2', user: 'bob' });
    expect(run.error?.Error).toBe('ActionRefused');
    expect(w.bucket.json(`${P}/wake.json`)).toMatchObject({ user: 'alice', build: 'w1' });
  });
});
