// Issue 15 item 3: a schedule's tick starts its run within the hour or lands, with its error,
// in an encrypted dead-letter queue that raises an alarm; Scheduler's default (24 h of
// retries, then dropped) never applies.
import { describe, expect, it } from 'vitest';
import { SCHEDULE_RETRY_ATTEMPTS } from '#infra/constructs/schedule-delivery';
import { synthesizeStack } from '../support/synthesized.ts';

const { template } = synthesizeStack('environments.yaml');
const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as any[];
const queues = template.findResources('AWS::SQS::Queue');

describe('schedule delivery', () => {
  it('gives every schedule, the guard sweep included, a 1 h maximum event age and bounded retries', () => {
    // Two fleet schedules in the fixture, plus the seven-day guard's daily sweep.
    expect(schedules).toHaveLength(3);
    for (const s of schedules)
      expect(s.Properties.Target.RetryPolicy, s.Properties.Description).toEqual({
        MaximumEventAgeInSeconds: 3600,
        MaximumRetryAttempts: SCHEDULE_RETRY_ATTEMPTS,
      });
    expect(SCHEDULE_RETRY_ATTEMPTS).toBeLessThan(185);
  });

  it('sends a tick it could not deliver to one encrypted, TLS-only dead-letter queue', () => {
    // The schedules share one queue (the stack has other dead-letter queues, for rule targets).
    const used = new Set(
      schedules.map((s: any) => s.Properties.Target.DeadLetterConfig?.Arn?.['Fn::GetAtt']?.[0]),
    );
    expect(used.size).toBe(1);
    const queueId = [...used][0] as string;
    const queue = (queues as Record<string, any>)[queueId];
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    for (const s of schedules)
      expect(s.Properties.Target.DeadLetterConfig, s.Properties.Description).toEqual({
        Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      });
    const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find(
      (p: any) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: queueId }]),
    ) as any;
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    // The schedules' roles may send to that queue and nowhere else, and only they may.
    const scheduleRoles = new Set(schedules.map((s: any) => s.Properties.Target.RoleArn['Fn::GetAtt'][0]));
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
    const sends = (where: (p: any) => boolean) =>
      policies
        .filter(where)
        .flatMap((p: any) =>
          p.Properties.PolicyDocument.Statement.filter((st: any) =>
            [st.Action].flat().includes('sqs:SendMessage'),
          ),
        );
    const bySchedules = sends((p) => p.Properties.Roles.some((r: any) => scheduleRoles.has(r.Ref)));
    expect(bySchedules.length).toBeGreaterThan(0);
    for (const st of bySchedules) expect(st.Resource).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
    const toQueue = sends((p) => JSON.stringify(p.Properties.PolicyDocument).includes(`"${queueId}"`));
    expect(toQueue).toEqual(bySchedules);
  });

  it('raises an alarm, announced like the others, as soon as one tick is in the queue', () => {
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find(
      (a: any) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible',
    ) as any;
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });
});
