// The deployed TTL of a wake: the one-time schedule per environment (name, time, target) and
// the function it invokes, which decides again from the records for that ONE environment and
// only then starts the environment workflow's down, once per wake however often it fires. Its
// "execution" here runs the real workflow on the local engine.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Executions } from '#core/gateways/executions';
import type { WakeSchedule, WakeSchedules } from '#core/gateways/wake-schedules';
import {
  atExpression,
  cancelWakeDown,
  scheduleWakeDown,
  TTL_RECHECK_MINUTES,
  ttlDown,
  ttlDownBuild,
  WAKE_SCHEDULE_GROUP,
  wakeScheduleName,
} from '#core/run/wake-ttl';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { claimAliceWake, wokenByAlice } from '../support/wakes.ts';
import { makeWorld, seedLegacyDown, type World } from '../support/world.ts';

beforeAll(warmUp, 180_000);

const P = 'eks-dev-cluster/alpha/dev';
const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:cim-environment';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

/** When woken() made its wake. */
let START = '';

/** Starts each named execution once, running the real workflow; a name seen again is not run again. */
function localExecutions() {
  const names: string[] = [];
  const executions: Executions = {
    async start({ name, input }) {
      const executionArn = `${ARN.replace(':stateMachine:', ':execution:')}:${name}`;
      if (names.includes(name)) return { executionArn, started: false };
      names.push(name);
      const run = await runWorkflow(w, input as Parameters<typeof runWorkflow>[1]);
      expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
      return { executionArn, started: true };
    },
  };
  return { executions, names };
}

/** The schedules the TTL function puts back (its own, to look again later). */
let puts: WakeSchedule[] = [];
const ownSchedule: WakeSchedules = {
  put: async (s) => void puts.push(s),
  remove: async () => undefined,
};
beforeEach(() => {
  puts = [];
});

const ttl = (executions: Executions, input: unknown = { customer: 'alpha', environment: 'dev' }) =>
  ttlDown(
    {
      config: w.deps.config,
      configSource: 'test',
      store: w.deps.store,
      executions,
      environmentStateMachineArn: ARN,
      scheduler: {
        schedules: ownSchedule,
        target: { functionArn: 'arn:ttl', roleArn: 'arn:role', group: 'g' },
      },
      now: w.clock.now,
    },
    input,
  );

/** alpha/dev woken by alice for two hours from the legacy down of build 10 (as cim wake does it). */
async function woken() {
  START = (await wokenByAlice(w)).created;
}

describe('the wake’s schedule', () => {
  it('is named per environment, deterministic, at most 64 characters, in its own group', () => {
    const name = wakeScheduleName('alpha', 'dev');
    expect(name).toMatch(/^cim-wake-[0-9a-f]+$/);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(wakeScheduleName('alpha', 'dev')).toBe(name);
    expect(wakeScheduleName('alpha', 'dev2')).not.toBe(name);
    expect(wakeScheduleName('a'.repeat(200), 'e'.repeat(200)).length).toBeLessThanOrEqual(64);
  });

  it('fires at the wake’s until in UTC, is moved by an extension and removed on --end', async () => {
    expect(atExpression('2026-12-06T21:30:00.000Z')).toBe('at(2026-12-06T21:30:00)');
    const puts: WakeSchedule[] = [];
    const removed: string[] = [];
    const schedules: WakeSchedules = {
      put: async (s) => void puts.push(s),
      remove: async (name, group) => void removed.push(`${group}/${name}`),
    };
    const target = { functionArn: 'arn:fn', roleArn: 'arn:role' };
    const env = { customer: 'alpha', environment: 'dev' };
    await scheduleWakeDown(schedules, target, env, { until: '2026-12-06T21:30:00Z' });
    await scheduleWakeDown(schedules, target, env, { until: '2026-12-06T22:30:00Z' });
    await cancelWakeDown(schedules, env);
    expect(puts.map((p) => [p.name, p.group, p.expression])).toEqual([
      [wakeScheduleName('alpha', 'dev'), WAKE_SCHEDULE_GROUP, 'at(2026-12-06T21:30:00)'],
      [wakeScheduleName('alpha', 'dev'), WAKE_SCHEDULE_GROUP, 'at(2026-12-06T22:30:00)'],
    ]);
    expect(puts[0]).toMatchObject({ targetArn: 'arn:fn', roleArn: 'arn:role', input: env });
    expect(removed).toEqual([`${WAKE_SCHEDULE_GROUP}/${wakeScheduleName('alpha', 'dev')}`]);
  });
});

describe('the wake TTL function', () => {
  it('puts an expired wake’s environment to sleep through the environment workflow, once however often it fires', async () => {
    await woken();
    w.clock.advance(2 * 3600 + 1);
    const { executions, names } = localExecutions();
    const first = await ttl(executions);
    expect(first).toMatchObject({ outcome: 'down-started', started: true });
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({
      desired_state: 'down',
      jenkins_user: 'wake:ttl:alice',
      jenkins_build: ttlDownBuild({
        build: 'w1',
        until: new Date(Date.parse(START) + 2 * 3600_000).toISOString(),
      }),
      result: 'succeeded',
    });
    // A retried invocation (or a second firing): the wake has ended, nothing else starts.
    expect(await ttl(executions)).toMatchObject({ outcome: 'ended' });
    expect(names).toHaveLength(1);
  });

  it('starts nothing when the wake was ended by a manual down and the environment is up again', async () => {
    await woken();
    expect((await runWorkflow(w, { action: 'down', build: 'd2', user: 'bob' })).status).toBe('SUCCEEDED');
    expect((await runWorkflow(w, { action: 'up', build: 'u3', user: 'bob' })).status).toBe('SUCCEEDED');
    w.clock.advance(2 * 3600 + 1);
    const { executions, names } = localExecutions();
    expect(await ttl(executions)).toMatchObject({ outcome: 'ended' });
    expect(names).toEqual([]);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it('starts nothing before the wake’s until (an extension moved it) or without a wake', async () => {
    const { executions, names } = localExecutions();
    expect(await ttl(executions)).toEqual({ outcome: 'no-wake' });
    await woken();
    w.clock.advance(3600);
    expect(await ttl(executions)).toMatchObject({ outcome: 'not-due' });
    expect(names).toEqual([]);
  });

  it('looks again a few minutes later while the wake’s up still runs past its until, then puts it to sleep', async () => {
    seedLegacyDown(w);
    await claimAliceWake(w, { minutes: 1, source: 'http' });
    // The wake's up has recorded its intent and is still running (a slow database).
    w.bucket.put(`${P}/actions.json`, {
      ...(w.bucket.json(`${P}/actions.json`) as object),
      jenkins_build: 'w1',
      desired_state: 'up',
      result: 'running',
      last_change: { desired_state: 'up', jenkins_build: 'w1', result: 'running', restore_point_build: '10' },
    });
    w.clock.advance(61);
    const { executions, names } = localExecutions();
    const again = await ttl(executions);
    expect(again).toMatchObject({ outcome: 'rescheduled' });
    expect(names).toEqual([]);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      name: wakeScheduleName('alpha', 'dev'),
      group: 'g',
      targetArn: 'arn:ttl',
      expression: atExpression(
        new Date(w.clock.now().getTime() + TTL_RECHECK_MINUTES * 60_000).toISOString(),
      ),
    });
  });

  it('puts the environment to sleep when the wake’s own up failed (nobody watches a wake from the page)', async () => {
    await woken();
    // The up failed after starting things: recorded as the wake's build, failed.
    const actions = w.bucket.json(`${P}/actions.json`) as Record<string, unknown>;
    w.bucket.put(`${P}/actions.json`, {
      ...actions,
      result: 'failed',
      last_change: { ...(actions.last_change as object), result: 'failed', restore_point_build: '10' },
    });
    w.clock.advance(2 * 3600 + 1);
    const { executions, names } = localExecutions();
    expect(await ttl(executions)).toMatchObject({ outcome: 'down-started', started: true });
    expect(names).toHaveLength(1);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(0);
  });

  it('names a new down for a wake renewed with a new until (its first down may have been refused)', () => {
    const first = ttlDownBuild({ build: 'w1', until: '2026-12-06T21:30:00.000Z' });
    expect(ttlDownBuild({ build: 'w1', until: '2026-12-06T21:30:00.000Z' })).toBe(first);
    expect(ttlDownBuild({ build: 'w1', until: '2026-12-06T23:30:00.000Z' })).not.toBe(first);
    expect(
      ttlDownBuild({ build: 'w'.repeat(64), until: '2026-12-06T21:30:00.000Z' }).length,
    ).toBeLessThanOrEqual(64);
  });

  it('refuses an input that does not name a configured environment', async () => {
    const { executions } = localExecutions();
    await expect(ttl(executions, { customer: 'alpha' })).rejects.toMatchObject({ name: 'InvalidInput' });
    await expect(ttl(executions, { customer: 'alpha', environment: 'nope' })).rejects.toMatchObject({
      name: 'UnknownEnvironment',
    });
  });
});
