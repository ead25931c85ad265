// A wake carried by an up's run request, through the real definition on the local engine with
// the real handlers (issue 19): the workflow itself decides (the rules of `cim wake`), counts
// (the ledgers), claims wake.json, records the requester in the action record and passes its
// schedule Task (locally: none, the sweep puts it down). A wake in effect is joined with
// nothing changed, an expired one still up is renewed with no run, refusals change nothing,
// and a wake that meets a running down waits for it and then wakes.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveEnvironment } from '#core/config/catalog';
import { placeHold } from '#core/records/hold';
import { claimWake } from '#core/records/wake';
import { personLedgerKey } from '#core/records/wake-ledger';
import { LOCAL_WAKE_DOWN } from '#core/run/wake-ttl';
import { Steps } from '#core/steps';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { makeWorld, seedLegacyDown, type World } from '../support/world.ts';

beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
  seedLegacyDown(w);
});
afterEach(() => w.restore());

const alpha = () => resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');
const snapshot = () => JSON.stringify([...w.bucket.objects].sort(([a], [b]) => a.localeCompare(b)));

const requester = {
  user: 'alice@example.com',
  subject: 'sub-123',
  address: '203.0.113.9',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
};
const wakeUp = (build: string, user = requester.user, minutes = 120) =>
  runWorkflow(w, {
    action: 'up',
    build,
    user: `wake:${user}`,
    wake: { minutes, source: 'http', requester: { ...requester, user } },
  });

const ledger = (key: string) =>
  (w.bucket.json(key) as { wakes: { build: string }[] } | undefined)?.wakes ?? [];

describe('a wake carried by the run request', () => {
  it('wakes the environment and records the wake, its count and its requester, through the schedule Task', async () => {
    const run = await wakeUp('w1');
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.path.slice(0, 9)).toEqual([
      Steps.inputIsObject,
      Steps.prepare,
      Steps.dryRun,
      Steps.wakeInEffect,
      Steps.recordIntent,
      Steps.whichAction,
      Steps.recordWake,
      Steps.scheduleWakeDown,
      Steps.whichAction,
    ]);
    expect(run.path[9]).toBe(Steps.startDatabase);
    expect(run.path.at(-1)).toBe(Steps.done);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);

    const now = w.clock.now().getTime();
    const wake = w.bucket.json(`${P}/wake.json`) as Record<string, string>;
    expect(wake).toMatchObject({
      user: requester.user,
      build: 'w1',
      woke_from: '10',
      source: 'http',
      address: requester.address,
      user_agent: requester.userAgent,
    });
    expect(Date.parse(wake.until ?? '') - Date.parse(wake.created ?? '')).toBe(120 * 60_000);
    expect(Date.parse(wake.created ?? '')).toBeLessThanOrEqual(now);
    expect(ledger(`${P}/wake-ledger.json`).map((e) => e.build)).toEqual(['w1']);
    expect(ledger(personLedgerKey(requester.user)).map((e) => e.build)).toEqual(['w1']);

    const record = w.bucket.json(`${P}/history/w1/actions.json`);
    expect(record).toMatchObject({
      jenkins_user: `wake:${requester.user}`,
      trigger: 'wake',
      result: 'succeeded',
      requester: {
        user: requester.user,
        subject: requester.subject,
        address: requester.address,
        user_agent: requester.userAgent,
        source: 'http',
      },
    });
  });

  it('says locally that the sweep, not a schedule, puts it down', async () => {
    let output: unknown;
    const run = await runWorkflow(
      w,
      {
        action: 'up',
        build: 'w1',
        user: 'wake:alice',
        wake: { minutes: 60, source: 'cli', requester: { user: 'alice' } },
      },
      {
        wrapTask: (state, fn) => async (e) => {
          const out = await fn(e);
          if (state === Steps.scheduleWakeDown) output = out;
          return out;
        },
      },
    );
    expect(run.status).toBe('SUCCEEDED');
    expect(output).toMatchObject({ wakeSchedule: { scheduled: false, why: LOCAL_WAKE_DOWN } });
  });

  it('joins a wake in effect: a second wake ends as already awake, nothing changed', async () => {
    expect((await wakeUp('w1')).status).toBe('SUCCEEDED');
    const before = snapshot();
    const writes = w.bucket.writes.length;
    const run = await wakeUp('w2', 'bob@example.com');
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      Steps.inputIsObject,
      Steps.prepare,
      Steps.dryRun,
      Steps.wakeInEffect,
      Steps.alreadyAwake,
    ]);
    expect(run.output).toMatchObject({ wakeRun: { outcome: 'joined', wake: { build: 'w1' } } });
    expect(w.bucket.writes.length).toBe(writes);
    expect(snapshot()).toEqual(before);
  });

  it('renews a wake expired while the environment is still up: a new until, counted, no run', async () => {
    expect((await wakeUp('w1')).status).toBe('SUCCEEDED');
    w.clock.advance(2 * 3600 + 60);
    const scaled = w.kube.scaled.length;
    const run = await wakeUp('w2', 'bob@example.com', 30);
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      Steps.inputIsObject,
      Steps.prepare,
      Steps.dryRun,
      Steps.wakeInEffect,
      // The schedule first: a renewal never stands without a schedule at its new until.
      Steps.scheduleRenewedWakeDown,
      Steps.renewWake,
      Steps.renewedDone,
    ]);
    const wake = w.bucket.json(`${P}/wake.json`) as Record<string, string>;
    expect(wake).toMatchObject({ user: 'bob@example.com', build: 'w1', woke_from: '10' });
    expect(Date.parse(wake.until ?? '')).toBe(w.clock.now().getTime() + 30 * 60_000);
    // Counted once, as a renewal (the first wake's entry has left the hour's window).
    expect(ledger(`${P}/wake-ledger.json`).map((e) => e.build)).toEqual([expect.stringMatching(/^renew-/)]);
    expect(ledger(personLedgerKey('bob@example.com'))).toHaveLength(1);
    expect(w.kube.scaled.length).toBe(scaled);
    expect(w.bucket.objects.has(`${P}/history/w2/actions.json`)).toBe(false);
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
  });

  it('records a wake claimed before the run (cim wake) once: the run recognizes its own claim', async () => {
    const now = w.clock.now();
    const claimed = await claimWake(
      w.deps.store(alpha()),
      alpha(),
      {
        user: 'alice',
        created: now.toISOString(),
        until: new Date(now.getTime() + 3600_000).toISOString(),
        build: 'w1',
        wokeFrom: '10',
        source: 'cli',
      },
      null,
    );
    expect(claimed).not.toBeNull();
    const run = await runWorkflow(w, {
      action: 'up',
      build: 'w1',
      user: 'wake:alice',
      wake: { minutes: 60, source: 'cli', requester: { user: 'alice' } },
    });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.path).toContain(Steps.recordWake);
    expect(w.bucket.writes.filter((x) => x.key === `${P}/wake.json`)).toHaveLength(1);
    expect(ledger(`${P}/wake-ledger.json`).map((e) => e.build)).toEqual(['w1']);
    expect(w.bucket.json(`${P}/history/w1/actions.json`)).toMatchObject({
      requester: { user: 'alice', source: 'cli' },
    });
  });
});

describe('a wake refused', () => {
  it('by a hold: EnvironmentOnHold, nothing changed', async () => {
    const now = w.clock.now();
    await placeHold(w.deps.store(alpha()), alpha(), {
      user: 'carol',
      reason: 'database migration',
      created: now.toISOString(),
      until: new Date(now.getTime() + 3 * 3600_000).toISOString(),
      skipNext: null,
    });
    const before = snapshot();
    const run = await wakeUp('w1');
    expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(run.error?.Error).toBe('EnvironmentOnHold');
    expect(run.error?.Cause).toContain('a hold wins over a wake');
    expect(snapshot()).toEqual(before);
    expect(w.kube.scaled).toEqual([]);
  });

  it('when the environment is up, not by a wake: ActionRefused, nothing changed', async () => {
    expect((await runWorkflow(w, { action: 'up', build: 'u1' })).status).toBe('SUCCEEDED');
    const before = snapshot();
    const run = await wakeUp('w1');
    expect(run.error?.Error).toBe('ActionRefused');
    expect(run.error?.Cause).toContain('not by a wake');
    expect(snapshot()).toEqual(before);
  });

  it('past the per-environment rate limit: nothing changed, the next time said', async () => {
    const at = new Date(w.clock.now().getTime() - 10 * 60_000).toISOString();
    w.bucket.put(`${P}/wake-ledger.json`, {
      wakes: ['a', 'b', 'c', 'd'].map((b) => ({ at, user: 'dave', environment: 'alpha/dev', build: b })),
    });
    const before = snapshot();
    const run = await wakeUp('w1');
    expect(run.error?.Error).toBe('ActionRefused');
    expect(run.error?.Cause).toContain('rate limited: 4 wakes of alpha/dev in the last hour');
    expect(snapshot()).toEqual(before);
    expect(w.kube.scaled).toEqual([]);
  });
});

/** A down of another execution holds the environment's lock, for an hour more. */
function lockedByDown(owner: string) {
  const now = w.clock.now();
  w.bucket.put(`${P}/lock.json`, {
    owner,
    build: 'd9',
    execution_id: owner,
    action: 'down',
    user: 'schedule:weeknights-down',
    acquired_at: now.toISOString(),
    expires_at: new Date(now.getTime() + 3600_000).toISOString(),
    heartbeat_at: now.toISOString(),
    step: 'Stop database',
  });
}

describe('a wake during a running down', () => {
  it('waits for the down to end (Prepare retried on WakeWaitsForRun), then wakes', async () => {
    // A down of another execution holds the lock.
    lockedByDown('arn:aws:states:us-east-1:123456789012:execution:cim:down-d9');
    const attempts: string[] = [];
    const run = await runWorkflow(
      w,
      {
        action: 'up',
        build: 'w1',
        user: 'wake:alice',
        wake: { minutes: 60, source: 'http', requester: { user: 'alice' } },
      },
      {
        wrapTask: (state, fn) => async (e) => {
          if (state !== Steps.prepare) return fn(e);
          try {
            const out = await fn(e);
            attempts.push('ok');
            return out;
          } catch (err) {
            attempts.push((err as Error).name);
            // The down ends after the wake's second look.
            if (attempts.length === 2) w.bucket.objects.delete(`${P}/lock.json`);
            throw err;
          }
        },
      },
    );
    expect(attempts).toEqual(['WakeWaitsForRun', 'WakeWaitsForRun', 'ok']);
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(w.bucket.json(`${P}/wake.json`)).toMatchObject({ build: 'w1' });
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it('does not make a plain up wait: it is refused at once (EnvironmentLocked)', async () => {
    lockedByDown('other');
    let prepares = 0;
    const run = await runWorkflow(
      w,
      { action: 'up', build: 'u1' },
      {
        wrapTask: (state, fn) => async (e) => {
          if (state === Steps.prepare) prepares++;
          return fn(e);
        },
      },
    );
    expect(run.error?.Error).toBe('EnvironmentLocked');
    expect(prepares).toBe(1);
  });
});
