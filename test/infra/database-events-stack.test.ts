// Event-driven database waits in the stack: the token Tasks, the rules on the started/stopped
// events of the configured databases only, and least privilege for the functions involved.
import { beforeAll, describe, expect, it } from 'vitest';
import { Steps } from '#core/steps';
import { matches } from '../support/event-pattern.ts';
import { synthesizedDefinition, synthesizeStack } from '../support/synthesized.ts';

let s: ReturnType<typeof synthesizeStack>;
beforeAll(() => {
  s = synthesizeStack();
}, 120_000);

const event = (id: string, eventId: string, type: 'DB_INSTANCE' | 'CLUSTER', account = '123456789012') => ({
  source: 'aws.rds',
  account,
  'detail-type': type === 'CLUSTER' ? 'RDS DB Cluster Event' : 'RDS DB Instance Event',
  region: 'us-east-1',
  detail: { EventID: eventId, SourceIdentifier: id, SourceType: type, Message: '...' },
});

const actions = (st: { Action: string | string[] }) => (Array.isArray(st.Action) ? st.Action : [st.Action]);
const statementsOf = (logicalRoleId: string) =>
  (Object.values(s.template.findResources('AWS::IAM::Policy')) as any[])
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === logicalRoleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
const roleId = (fn: { role?: { node: { defaultChild?: unknown } } }) =>
  s.stack.getLogicalId(fn.role?.node.defaultChild as never);

describe('event-driven database waits', () => {
  it('wait on a task token with the fallback time from the run context, and poll after it', () => {
    const asl = synthesizedDefinition(s.template) as { States: Record<string, any> };
    for (const [wait, check] of [
      [Steps.awaitDatabaseAvailable, Steps.checkDatabaseAvailable],
      [Steps.awaitDatabaseStopped, Steps.checkDatabaseStopped],
    ] as const) {
      const st = asl.States[wait];
      expect(st.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
      expect(st.Parameters.Payload['token.$']).toBe('$$.Task.Token');
      expect(st.TimeoutSecondsPath).toBe('$.databaseWait.fallbackSeconds');
      expect(st.Next).toBe(check);
      expect(st.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.databaseWait.fallback', Next: check },
      ]);
    }
    expect(asl.States[Steps.startDatabase].Next).toBe(Steps.databaseStartEvents);
    expect(asl.States[Steps.databaseStartEvents].Choices[0]).toEqual({
      Variable: '$.databaseWait.events',
      BooleanEquals: true,
      Next: Steps.awaitDatabaseAvailable,
    });
    expect(asl.States[Steps.databaseStartEvents].Default).toBe(Steps.checkDatabaseAvailable);
  });

  it('fire on the started/stopped events of the configured databases only', () => {
    const target = s.stack.getLogicalId(s.stack.databaseEvents.function.node.defaultChild as never);
    const rules = (Object.values(s.template.findResources('AWS::Events::Rule')) as any[]).filter((r) =>
      r.Properties.Targets.some((t: any) => t.Arn?.['Fn::GetAtt']?.[0] === target),
    );
    expect(rules.length).toBeGreaterThan(0);
    const fires = (e: unknown) => rules.some((r) => matches(r.Properties.EventPattern, e));
    expect(fires(event('alpha-dev-rds', 'RDS-EVENT-0088', 'DB_INSTANCE'))).toBe(true);
    expect(fires(event('alpha-dev-rds', 'RDS-EVENT-0087', 'DB_INSTANCE'))).toBe(true);
    expect(fires(event('beta-staging-aurora', 'RDS-EVENT-0151', 'CLUSTER'))).toBe(true);
    expect(fires(event('beta-staging-aurora', 'RDS-EVENT-0150', 'CLUSTER'))).toBe(true);
    expect(fires(event('someone-elses-db', 'RDS-EVENT-0088', 'DB_INSTANCE'))).toBe(false);
    expect(fires(event('alpha-dev-rds', 'RDS-EVENT-0154', 'DB_INSTANCE'))).toBe(false);
    expect(fires(event('beta-staging-aurora', 'RDS-EVENT-0088', 'DB_INSTANCE'))).toBe(false);
    expect(
      fires({ ...event('alpha-dev-rds', 'RDS-EVENT-0088', 'DB_INSTANCE'), source: 'custom.forged' }),
    ).toBe(false);
    // A same-named database in another account whose events reach this bus.
    expect(fires(event('alpha-dev-rds', 'RDS-EVENT-0088', 'DB_INSTANCE', '999988887777'))).toBe(false);
  });

  it('send what EventBridge cannot deliver, and what the function gives up on, to an encrypted queue that alarms', () => {
    const fnId = s.stack.getLogicalId(s.stack.databaseEvents.function.node.defaultChild as never);
    const queueId = s.stack.getLogicalId(s.stack.eventFailures.node.defaultChild as never);
    const queue = s.template.findResources('AWS::SQS::Queue')[queueId] as any;
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const fn = s.template.findResources('AWS::Lambda::Function')[fnId] as any;
    expect(fn.Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    const rules = Object.values(s.template.findResources('AWS::Events::Rule')) as any[];
    const rdsRules = rules.filter((r) => r.Properties.EventPattern?.source?.includes('aws.rds'));
    // The database-event function's rules and the guard's (which start its state machine).
    expect(rdsRules.length).toBeGreaterThanOrEqual(3);
    for (const r of rdsRules)
      for (const t of r.Properties.Targets)
        expect(t.DeadLetterConfig, JSON.stringify(t.Arn)).toEqual({
          Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        });
    // Only this function and EventBridge (from these rules) may send to the queue.
    const senders = (Object.values(s.template.findResources('AWS::IAM::Policy')) as any[]).filter((p) =>
      (p.Properties.PolicyDocument.Statement as any[]).some(
        (st) => actions(st).includes('sqs:SendMessage') && JSON.stringify(st.Resource).includes(queueId),
      ),
    );
    // The report function shares the queue (a fleet event it could not handle lands there too).
    expect(senders.flatMap((p) => p.Properties.Roles.map((r: any) => r.Ref)).sort()).toEqual(
      [roleId(s.stack.databaseEvents.function), roleId(s.stack.report.function)].sort(),
    );
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')) as any[];
    const alarm = alarms.find(
      (a) =>
        a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        JSON.stringify(a.Properties.Dimensions).includes(`"${queueId}"`),
    );
    expect(alarm?.Properties.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } },
    ]);
    expect(alarm?.Properties.AlarmActions).toHaveLength(1);
  });

  it('may complete Tasks as IAM authorizes SendTaskSuccess (on "*"), and the event function reads only the wait records', () => {
    const send = (Object.values(s.template.findResources('AWS::IAM::Policy')) as any[]).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as any[]).filter((st) =>
        actions(st).includes('states:SendTaskSuccess'),
      ),
    );
    expect(send).toHaveLength(2);
    for (const st of send) {
      // Minimized policies merge it with X-Ray's actions, the other ones IAM accepts only on "*".
      expect(actions(st).filter((a: string) => !a.startsWith('xray:'))).toEqual(['states:SendTaskSuccess']);
      // IAM's service reference: no resource type (test/scan/iam-reference.test.ts checks it).
      expect(st.Resource).toBe('*');
      expect(st.Effect).toBe('Allow');
    }
    const eventFn = statementsOf(roleId(s.stack.databaseEvents.function));
    expect(
      eventFn
        .flatMap(actions)
        .filter((a: string) => !a.startsWith('logs:') && !a.startsWith('xray:'))
        .sort(),
    ).toEqual(
      [
        's3:DeleteObject',
        's3:GetObject',
        'states:SendTaskSuccess',
        // Its dead-letter queue (that queue only).
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
    for (const st of eventFn.filter((x) => actions(x).includes('s3:GetObject')))
      for (const r of [st.Resource].flat()) expect(JSON.stringify(r)).toMatch(/database-wait\.json"\]\]\}$/);
  });

  it('are announced by Start/Stop database only', () => {
    const withFlag = Object.entries(s.template.findResources('AWS::Lambda::Function'))
      .filter(([, f]: [string, any]) => f.Properties.Environment.Variables.CIM_DATABASE_EVENTS === '1')
      .map(([id]) => id)
      .sort();
    expect(withFlag).toEqual(
      [s.stack.functions['start-database'], s.stack.functions['stop-database']]
        .map((f) => s.stack.getLogicalId(f.node.defaultChild as never))
        .sort(),
    );
  });
});
