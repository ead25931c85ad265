// A wake's one-time schedule through EventBridge Scheduler (gateways/wake-schedules.ts):
// `at(...)` in UTC, deleted by the scheduler after it fires (ActionAfterCompletion DELETE),
// retried when the function fails (the TTL function fails while the wake's up still runs).
// Create, and on ConflictException (the environment's schedule is there: an extension, or a
// new wake before the old one fired) update it in place. Delete: already gone is fine.
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { AWS_REQUEST_TIMEOUTS } from '../errors.ts';
import type { WakeSchedule, WakeSchedules } from '../gateways/wake-schedules.ts';

/** How long the scheduler keeps retrying a failed invocation (a wake's up running long). */
const RETRY_MAX_EVENT_AGE_SECONDS = 6 * 3600;
const RETRY_ATTEMPTS = 60;

export const schedulerClient = (region?: string) =>
  new SchedulerClient({ requestHandler: AWS_REQUEST_TIMEOUTS, ...(region ? { region } : {}) });

export class EventBridgeWakeSchedules implements WakeSchedules {
  constructor(private readonly client: SchedulerClient = schedulerClient()) {}

  private static input(s: WakeSchedule) {
    return {
      Name: s.name,
      GroupName: s.group,
      ScheduleExpression: s.expression,
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      ActionAfterCompletion: 'DELETE' as const,
      Description: `cim wake: put ${s.input.customer}/${s.input.environment} back to sleep`,
      Target: {
        Arn: s.targetArn,
        RoleArn: s.roleArn,
        Input: JSON.stringify(s.input),
        RetryPolicy: {
          MaximumEventAgeInSeconds: RETRY_MAX_EVENT_AGE_SECONDS,
          MaximumRetryAttempts: RETRY_ATTEMPTS,
        },
      },
    };
  }

  async put(s: WakeSchedule): Promise<void> {
    const input = EventBridgeWakeSchedules.input(s);
    try {
      await this.client.send(new CreateScheduleCommand(input));
    } catch (err) {
      if (!(err instanceof ConflictException) && (err as { name?: string }).name !== 'ConflictException')
        throw err;
      await this.client.send(new UpdateScheduleCommand(input));
    }
  }

  async remove(name: string, group: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: group }));
    } catch (err) {
      if (
        err instanceof ResourceNotFoundException ||
        (err as { name?: string }).name === 'ResourceNotFoundException'
      )
        return;
      throw err;
    }
  }
}
