// Holds on the local engine with the real handlers: a scheduled run (user schedule:*) of an
// environment under an active hold is refused by Prepare as EnvironmentOnHold and counted
// as skipped by the fleet, with the hold's reason; a manual run goes ahead and says so; an
// expired hold is ignored; --skip-next holds back one action only; status shows the hold.
import { S3ServiceException } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noRetryWaits } from '#cli/engine/local-environment';
import { runFleetLocal } from '#cli/engine/local-fleet';
import { exitCodeFor } from '#cli/exit-codes';
import { resolveEnvironment } from '#core/config/catalog';
import { type Hold, placeHold } from '#core/records/hold';
import { Steps, WaitSteps } from '#core/steps';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

// The first run synthesizes the stack: outside the tests' 30 s, which a loaded machine can exceed.
beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

const snapshot = () => JSON.stringify([...w.bucket.objects].sort(([a], [b]) => a.localeCompare(b)));
const alpha = () => resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');

async function hold(h: Partial<Hold> = {}) {
  const now = w.clock.now();
  await placeHold(w.deps.store(alpha()), alpha(), {
    user: 'alice',
    reason: 'release test tonight',
    created: now.toISOString(),
    until: new Date(now.getTime() + 3 * 3600_000).toISOString(),
    skipNext: null,
    ...h,
  });
}

describe('a scheduled run under an active hold', () => {
  it('is skipped by Prepare with the hold reason, nothing changed (exit 2)', async () => {
    await hold();
    const before = snapshot();
    const run = await runWorkflow(w, { action: 'down', build: '10', user: 'schedule:weeknights-down' });
    expect(run.status).toBe('FAILED');
    expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(run.error?.Error).toBe('EnvironmentOnHold');
    expect(exitCodeFor(run.error?.Error)).toBe(2);
    expect(run.error?.Cause).toContain('scheduled down of alpha/dev skipped: on hold until');
    expect(run.error?.Cause).toContain('by alice (release test tonight)');
    expect(snapshot()).toEqual(before);
    expect(w.kube.scaled).toEqual([]);
    expect(w.rdsCalls).toEqual([]);
  });

  it('is counted as skipped by the fleet, with the reason in its summary record', async () => {
    await hold();
    const run = await runFleetLocal({
      deps: w.deps,
      input: {
        action: 'down',
        selection: 'alpha/dev,beta/staging',
        user: 'schedule:weeknights-down',
        schedule: 'weeknights-down',
        scheduledTime: '2026-11-26T19:00:00Z',
      },
      waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
      retryOverrides: noRetryWaits(),
    });
    expect(run.summary?.counts).toEqual({ succeeded: 1, skipped: 1, refused: 0, failed: 0 });
    const by = Object.fromEntries((run.summary?.environments ?? []).map((e) => [e.environment, e]));
    expect(by['alpha/dev']).toMatchObject({ result: 'skipped', error: { name: 'EnvironmentOnHold' } });
    expect(by['alpha/dev']?.error?.message).toContain('release test tonight');
    const record = w.bucket.json('fleet/history/weeknights-down-20261126T1900Z/summary.json') as any;
    expect(record.environments[0]).toMatchObject({ environment: 'alpha/dev', result: 'skipped' });
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
    expect(w.kube.replicas('beta-staging', 'backend-deployment')).toBe(0);
  });

  it('runs once the hold has expired', async () => {
    await hold();
    w.clock.advance(3 * 3600 + 1);
    const run = await runWorkflow(w, { action: 'down', build: '10', user: 'schedule:weeknights-down' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
    expect(w.warnings.join('\n')).not.toMatch(/hold/);
  });

  it('with a skip_next down written before (no ends_after_skip) holds back scheduled downs only, until its until', async () => {
    await runWorkflow(w, { action: 'down', build: '9' });
    await hold({ skipNext: 'down' });
    const up = await runWorkflow(w, { action: 'up', build: '10', user: 'schedule:mornings-up' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    const down = await runWorkflow(w, { action: 'down', build: '11', user: 'schedule:weeknights-down' });
    expect(down.error?.Error).toBe('EnvironmentOnHold');
    expect(down.error?.Cause).toContain('holding back scheduled down runs only');
    const again = await runWorkflow(w, { action: 'down', build: '12', user: 'schedule:weeknights-down' });
    expect(again.error?.Error).toBe('EnvironmentOnHold');
    expect(w.bucket.json(`${P}/hold.json`)).not.toHaveProperty('consumed');
  });
});

describe('cim hold --skip-next down (ends after one skip)', () => {
  const HOLD = `${P}/hold.json`;
  const holdWrites = () => w.bucket.writes.filter((x) => x.key === HOLD).length;
  const scheduledDown = (scheduledTime: string) =>
    runFleetLocal({
      deps: w.deps,
      input: {
        action: 'down',
        selection: 'alpha/dev',
        user: 'schedule:weeknights-down',
        schedule: 'weeknights-down',
        scheduledTime,
      },
      waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
      retryOverrides: noRetryWaits(),
    });

  it('skips the next scheduled down (skipped, recorded, the hold consumed by its build), and the one after goes ahead', async () => {
    await hold({ skipNext: 'down', endsAfterSkip: true });
    const first = await scheduledDown('2026-11-26T19:00:00Z');
    expect(first.summary?.counts).toEqual({ succeeded: 0, skipped: 1, refused: 0, failed: 0 });
    const record = w.bucket.json('fleet/history/weeknights-down-20261126T1900Z/summary.json') as any;
    expect(record.environments[0]).toMatchObject({ environment: 'alpha/dev', result: 'skipped' });
    expect(record.environments[0].error.message).toContain('this skip ends the hold');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
    expect(w.bucket.json(HOLD)).toMatchObject({
      skip_next: 'down',
      ends_after_skip: true,
      consumed: { build: 'weeknights-down-20261126T1900Z' },
    });

    w.clock.advance(24 * 3600);
    const second = await scheduledDown('2026-11-27T19:00:00Z');
    expect(second.summary?.counts).toEqual({ succeeded: 1, skipped: 0, refused: 0, failed: 0 });
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
    // The hold ended by itself: nothing more was written to it.
    expect(holdWrites()).toBe(2);
  });

  it('consumes it once when the same build runs twice (a retry skips again, writes nothing more)', async () => {
    await hold({ skipNext: 'down', endsAfterSkip: true });
    const first = await runWorkflow(w, { action: 'down', build: '10', user: 'schedule:weeknights-down' });
    expect(first.error?.Error).toBe('EnvironmentOnHold');
    expect(holdWrites()).toBe(2);
    const consumed = JSON.stringify(w.bucket.json(HOLD));
    w.clock.advance(60);
    const retry = await runWorkflow(w, { action: 'down', build: '10', user: 'schedule:weeknights-down' });
    expect(retry.error?.Error).toBe('EnvironmentOnHold');
    expect(retry.error?.Cause).toContain('the hold was consumed by this build (10)');
    expect(holdWrites()).toBe(2);
    expect(JSON.stringify(w.bucket.json(HOLD))).toBe(consumed);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);

    const next = await runWorkflow(w, { action: 'down', build: '11', user: 'schedule:weeknights-down' });
    expect(next.status, JSON.stringify(next.error)).toBe('SUCCEEDED');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
  });

  it('consumes it once when Prepare is retried after its write (SlowDown on hold.json): the retry skips again', async () => {
    await hold({ skipNext: 'down', endsAfterSkip: true });
    let failed = false;
    w.faults.onMutation = (what) => {
      if (!failed && what === `s3:put:${HOLD}`) {
        failed = true;
        throw new S3ServiceException({
          name: 'SlowDown',
          $fault: 'server',
          $metadata: {},
          message: 'slow down',
        });
      }
    };
    const run = await runWorkflow(w, { action: 'down', build: '10', user: 'schedule:weeknights-down' });
    expect(failed).toBe(true);
    expect(
      run.events.filter((e) => e.type === 'StateRetried' && e.state.name === Steps.prepare),
    ).toHaveLength(1);
    expect(run.error?.Error).toBe('EnvironmentOnHold');
    expect(run.error?.Cause).toContain('the hold was consumed by this build (10)');
    expect(holdWrites()).toBe(2);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it('never skips a manual down, a scheduled up or a dry run, and none of them consumes it', async () => {
    await hold({ skipNext: 'down', endsAfterSkip: true });
    const dry = await runWorkflow(w, {
      action: 'down',
      build: '9',
      user: 'schedule:weeknights-down',
      dryRun: true,
    });
    expect(dry.error?.Error).toBe('EnvironmentOnHold');
    const manual = await runWorkflow(w, { action: 'down', build: '10', user: 'bob' });
    expect(manual.status, JSON.stringify(manual.error)).toBe('SUCCEEDED');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
    const up = await runWorkflow(w, { action: 'up', build: '11', user: 'schedule:mornings-up' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(holdWrites()).toBe(1);
    expect(w.bucket.json(HOLD)).not.toHaveProperty('consumed');
    const down = await runWorkflow(w, { action: 'down', build: '12', user: 'schedule:weeknights-down' });
    expect(down.error?.Error).toBe('EnvironmentOnHold');
    expect(w.bucket.json(HOLD)).toMatchObject({ consumed: { build: '12' } });
  });
});

describe('a manual run under an active hold', () => {
  it('goes ahead and says so', async () => {
    await hold();
    const run = await runWorkflow(w, { action: 'down', build: '10', user: 'bob' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
    expect(w.warnings).toContainEqual(
      expect.stringMatching(/alpha\/dev is on hold until .* a manual down ignores the hold/),
    );
    expect((run.output as any).hold).toMatchObject({ user: 'alice', reason: 'release test tonight' });
    expect(w.bucket.json(`${P}/hold.json`)).toMatchObject({ user: 'alice' });
  });
});

describe('status', () => {
  it('shows an active hold and not an expired one', async () => {
    await hold();
    const run = await runWorkflow(w, { action: 'get_env_state', user: 'schedule:x' });
    expect(run.status).toBe('SUCCEEDED');
    expect((run.output as any).hold).toMatchObject({ user: 'alice', skipNext: null });
    w.clock.advance(4 * 3600);
    const later = await runWorkflow(w, { action: 'get_env_state' });
    expect((later.output as any).hold).toBeUndefined();
  });

  it('refuses an unreadable hold object as an untrusted record (exit 2), nothing changed', async () => {
    w.bucket.put(`${P}/hold.json`, { until: 'tomorrow' });
    const before = snapshot();
    const run = await runWorkflow(w, { action: 'down', build: '10', user: 'schedule:weeknights-down' });
    expect(run.error?.Error).toBe('StateRecordInvalid');
    expect(run.error?.Cause).toMatch(/hold\.json is not a hold .*cim hold --clear --select alpha\/dev/);
    expect(snapshot()).toEqual(before);
  });
});
