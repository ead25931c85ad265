// Issue 15 item 3: a schedule's tick starts its run within the hour or lands, with its error,
// in an encrypted dead-letter queue that raises an alarm; Scheduler's default (24 h of
// retries, then dropped) never applies.
import { describe, expect, it } from 'vitest';
import { SCHEDULE_RETRY_ATTEMPTS } from '#infra/schedule-delivery';
import { synthesizeStack } from '../fixtures/synthesized.ts';

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
    const entries = Object.entries(queues) as [string, any][];
    expect(entries).toHaveLength(1);
    const [queueId, queue] = entries[0] as [string, any];
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    for (const s of schedules)
      expect(s.Properties.Target.DeadLetterConfig, s.Properties.Description).toEqual({
        Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      });
    const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy'))[0] as any;
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    // The schedules' role may send to that queue and nowhere else.
    const sends = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) =>
      p.Properties.PolicyDocument.Statement.filter((st: any) =>
        [st.Action].flat().includes('sqs:SendMessage'),
      ),
    );
    expect(sends.length).toBeGreaterThan(0);
    for (const st of sends) expect(st.Resource).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
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
