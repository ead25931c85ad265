// A wake's schedule through EventBridge Scheduler (aws-sdk-client-mock): one-time at() in
// UTC, deleted after it fires, retried on a failed invocation, the environment as its input;
// an existing one (an extension) is updated in place; removing one already gone is fine.
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgeWakeSchedules, schedulerClient } from '#core/clients/scheduler';
import type { WakeSchedule } from '#core/gateways/wake-schedules';

const client = schedulerClient('us-east-1');
const mock = mockClient(client);
afterEach(() => mock.reset());

const schedule: WakeSchedule = {
  name: 'cim-wake-0123456789abcdef',
  group: 'cim-wakes-Test',
  expression: 'at(2026-12-06T21:30:00)',
  targetArn: 'arn:aws:lambda:us-east-1:111122223333:function:wake-ttl',
  roleArn: 'arn:aws:iam::111122223333:role/wake-scheduler',
  input: { customer: 'alpha', environment: 'dev' },
};
const named = (name: string) => Object.assign(new Error(name), { name });
const sent = () =>
  mock.calls().map((c) => {
    const command = c.args[0] as unknown as { constructor: { name: string }; input: Record<string, unknown> };
    return { command: command.constructor.name, input: command.input };
  });

describe('a wake’s schedule in EventBridge Scheduler', () => {
  it('is created one-time in UTC, deleted after it fires, retried, with the environment as input', async () => {
    mock.onAnyCommand().resolves({});
    await new EventBridgeWakeSchedules(client).put(schedule);
    const [create, ...more] = sent();
    expect(more).toEqual([]);
    expect(create?.command).toBe('CreateScheduleCommand');
    expect(create?.input).toMatchObject({
      Name: schedule.name,
      GroupName: 'cim-wakes-Test',
      ScheduleExpression: 'at(2026-12-06T21:30:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: schedule.targetArn,
        RoleArn: schedule.roleArn,
        Input: JSON.stringify({ customer: 'alpha', environment: 'dev' }),
      },
    });
    const target = create?.input.Target as { RetryPolicy?: { MaximumRetryAttempts?: number } } | undefined;
    expect(target?.RetryPolicy?.MaximumRetryAttempts).toBeGreaterThan(0);
  });

  it('is updated in place when the environment’s schedule exists (an extension)', async () => {
    mock.onAnyCommand().callsFake((input: { ScheduleExpression?: string }, _getClient?: unknown) => {
      if (mock.calls().length === 1) throw named('ConflictException');
      return { ScheduleArn: 'arn', input };
    });
    await new EventBridgeWakeSchedules(client).put({ ...schedule, expression: 'at(2026-12-06T22:30:00)' });
    expect(sent().map((c) => [c.command, c.input.ScheduleExpression])).toEqual([
      ['CreateScheduleCommand', 'at(2026-12-06T22:30:00)'],
      ['UpdateScheduleCommand', 'at(2026-12-06T22:30:00)'],
    ]);
  });

  it('passes on any other failure of the create', async () => {
    mock.onAnyCommand().rejects(named('AccessDeniedException'));
    await expect(new EventBridgeWakeSchedules(client).put(schedule)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(sent()).toHaveLength(1);
  });

  it('is deleted by name and group, and one already gone (fired) is not an error', async () => {
    mock.onAnyCommand().resolves({});
    await new EventBridgeWakeSchedules(client).remove(schedule.name, schedule.group);
    expect(sent()).toEqual([
      { command: 'DeleteScheduleCommand', input: { Name: schedule.name, GroupName: schedule.group } },
    ]);
    mock.reset();
    mock.onAnyCommand().rejects(named('ResourceNotFoundException'));
    await expect(new EventBridgeWakeSchedules(client).remove(schedule.name, schedule.group)).resolves.toBe(
      undefined,
    );
  });
});
