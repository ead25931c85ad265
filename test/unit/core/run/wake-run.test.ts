// The wake of a run (run/wake-run.ts, run/wake-steps.ts, wake-ttl.ts's run schedule): the rate
// limits do not count a wake against itself (a retried Prepare), a renewal's ledger entry is
// the same on every attempt, a claim lost to another wake writes nothing of this one, and the
// schedule Task creates (or moves) the one schedule in the stack's group when deployed, and
// nothing locally.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveEnvironment } from '#core/config/catalog';
import type { WakeSchedule, WakeSchedules } from '#core/gateways/wake-schedules';
import { BUILD_PATTERN } from '#core/records/legacy-state';
import { claimWake, readWake, type Wake } from '#core/records/wake';
import { environmentLedgerKey, recordInLedger } from '#core/records/wake-ledger';
import { countWake, recordRunWake, renewalEntryBuild, wakeRateRefusal } from '#core/run/wake-run';
import { wakeStep } from '#core/run/wake-steps';
import {
  atExpression,
  LOCAL_WAKE_DOWN,
  WAKE_SCHEDULE_GROUP_VARIABLE,
  WAKE_SCHEDULER_ROLE_ARN_VARIABLE,
  WAKE_TTL_FUNCTION_ARN_VARIABLE,
  wakeScheduleName,
  wakeScheduleTargetFrom,
} from '#core/run/wake-ttl';
import { Steps } from '#core/steps';
import { makeWorld, type World } from '../../../support/world.ts';

let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

const alpha = () => resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');
const P = 'eks-dev-cluster/alpha/dev';
const wakeOf = (o: Partial<Wake> = {}): Wake => {
  const now = w.clock.now();
  return {
    user: 'alice',
    created: now.toISOString(),
    until: new Date(now.getTime() + 3600_000).toISOString(),
    build: 'w1',
    wokeFrom: '10',
    source: 'http',
    ...o,
  };
};

describe('the rate limits of a run’s wake', () => {
  it('do not count the wake’s own entry (a retried Prepare after Record wake counted it)', async () => {
    const store = w.deps.store(alpha());
    const now = w.clock.now();
    for (const b of ['a', 'b', 'c', 'w1'])
      await recordInLedger(
        store,
        environmentLedgerKey(alpha()),
        { at: now.toISOString(), user: 'dave', environment: 'alpha/dev', build: b },
        now,
      );
    expect(await wakeRateRefusal(store, alpha(), 'alice', now)).toMatch(
      /rate limited: 4 wakes of alpha\/dev/,
    );
    expect(await wakeRateRefusal(store, alpha(), 'alice', now, 'w1')).toBeNull();
  });
});

describe('counting a wake', () => {
  it('names a renewal’s entry from the renewal, the same on every attempt, as a build id', async () => {
    const renewal = wakeOf({ user: 'bob' });
    expect(renewalEntryBuild(renewal)).toBe(renewalEntryBuild({ ...renewal }));
    expect(renewalEntryBuild(renewal)).not.toBe(
      renewalEntryBuild({ ...renewal, created: '2026-12-06T23:00:00.000Z' }),
    );
    expect(renewalEntryBuild(renewal)).toMatch(BUILD_PATTERN);
    const store = w.deps.store(alpha());
    await countWake(store, alpha(), renewal, true);
    await countWake(store, alpha(), renewal, true);
    const ledger = w.bucket.json(`${P}/wake-ledger.json`) as { wakes: { build: string }[] };
    expect(ledger.wakes.map((e) => e.build)).toEqual([renewalEntryBuild(renewal)]);
  });
});

describe('Record wake', () => {
  it('adopts its own claim on a retry, and writes nothing of its wake when another one was placed meanwhile', async () => {
    const store = w.deps.store(alpha());
    const mine = wakeOf();
    await recordRunWake(store, alpha(), { outcome: 'wake', wake: mine, replacing: null });
    const writes = w.bucket.writes.length;
    await recordRunWake(store, alpha(), { outcome: 'wake', wake: mine, replacing: null });
    expect(w.bucket.writes.length, 'a retry writes nothing').toBe(writes);

    // Another environment state: someone else's wake claimed over the one Prepare read.
    w.bucket.objects.delete(`${P}/wake.json`);
    w.bucket.objects.delete(`${P}/wake-ledger.json`);
    expect(await claimWake(store, alpha(), wakeOf({ user: 'bob', build: 'w9' }), null)).not.toBeNull();
    const before = w.bucket.writes.length;
    await expect(
      recordRunWake(store, alpha(), { outcome: 'wake', wake: wakeOf({ build: 'w2' }), replacing: null }),
    ).rejects.toMatchObject({ name: 'ActionRefused', message: expect.stringContaining('by bob') });
    expect(w.bucket.writes.length).toBe(before);
    expect((await readWake(store, alpha()))?.wake.user).toBe('bob');
  });
});

describe('Schedule wake down', () => {
  const context = (wake: Wake) => ({
    request: { customer: 'alpha', environment: 'dev', build: wake.build },
    wakeRun: { outcome: 'wake', wake, replacing: null },
  });

  it('creates (or moves) the environment’s one schedule in the stack’s group, at the wake’s until', async () => {
    const put: WakeSchedule[] = [];
    const schedules: WakeSchedules = {
      put: async (s) => {
        put.push(s);
      },
      remove: async () => undefined,
    };
    const target = { functionArn: 'arn:fn:wake-ttl', roleArn: 'arn:role:scheduler', group: 'cim-wakes-Prod' };
    const wake = wakeOf();
    const step = { step: Steps.scheduleWakeDown, context: context(wake) };
    const out = await wakeStep(w.deps, { schedules, target }, step);
    // Told twice (a retried Task): the same schedule, moved to the same time.
    await wakeStep(w.deps, { schedules, target }, step);
    const expected = {
      name: wakeScheduleName('alpha', 'dev'),
      group: 'cim-wakes-Prod',
      expression: atExpression(wake.until),
      targetArn: 'arn:fn:wake-ttl',
      roleArn: 'arn:role:scheduler',
      input: { customer: 'alpha', environment: 'dev' },
    };
    expect(put).toEqual([expected, expected]);
    expect(out).toMatchObject({
      ...context(wake),
      wakeSchedule: {
        scheduled: true,
        name: expected.name,
        group: 'cim-wakes-Prod',
        at: expected.expression,
      },
    });
  });

  it('records nothing remote on the local engine and says the sweep puts it down', async () => {
    const out = await wakeStep(w.deps, null, { step: Steps.scheduleWakeDown, context: context(wakeOf()) });
    expect(out).toMatchObject({ wakeSchedule: { scheduled: false, why: LOCAL_WAKE_DOWN } });
  });

  it('is deployed when the stack named the TTL function and the role; the group is optional', () => {
    expect(wakeScheduleTargetFrom({})).toBeNull();
    expect(wakeScheduleTargetFrom({ [WAKE_TTL_FUNCTION_ARN_VARIABLE]: 'arn:fn' })).toBeNull();
    expect(
      wakeScheduleTargetFrom({
        [WAKE_TTL_FUNCTION_ARN_VARIABLE]: 'arn:fn',
        [WAKE_SCHEDULER_ROLE_ARN_VARIABLE]: 'arn:role',
        [WAKE_SCHEDULE_GROUP_VARIABLE]: 'cim-wakes-Prod',
      }),
    ).toEqual({ functionArn: 'arn:fn', roleArn: 'arn:role', group: 'cim-wakes-Prod' });
  });
});

describe('the wake function', () => {
  it('refuses an event that names no wake step, or no wake decision', async () => {
    await expect(wakeStep(w.deps, null, { step: 'Prepare', context: {} })).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('the wake function expects'),
    });
    await expect(
      wakeStep(w.deps, null, { step: Steps.recordWake, context: { request: {} } }),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining("Record wake: its input must carry Prepare's decision"),
    });
  });
});
