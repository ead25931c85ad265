// Notifications in the stack: an encrypted, TLS-only topic that only the publishing
// functions and CloudWatch alarms may publish to; every failure alarm has it as action;
// an existing topic from the configuration is used instead of creating one.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { synthesizeStack } from '../support/synthesized.ts';

let t: ReturnType<typeof synthesizeStack>['template'];
beforeAll(() => {
  ({ template: t } = synthesizeStack());
}, 120_000);
const dir = mkdtempSync(join(tmpdir(), 'cim-notify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const topicRef = () => ({ Ref: Object.keys(t.findResources('AWS::SNS::Topic'))[0] });

describe('notifications', () => {
  it('creates one topic encrypted with its own rotating KMS key', () => {
    const topics = Object.values(t.findResources('AWS::SNS::Topic')) as any[];
    expect(topics).toHaveLength(1);
    const keyId = topics[0].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    expect(t.findResources('AWS::KMS::Key')[keyId]?.Properties.EnableKeyRotation).toBe(true);
  });

  it('lets only the publishing functions and CloudWatch alarms publish, over TLS', () => {
    const [policy] = Object.values(t.findResources('AWS::SNS::TopicPolicy')) as any[];
    const statements = policy.Properties.PolicyDocument.Statement as any[];
    const tls = statements.find((s) => s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
    expect(tls?.Effect).toBe('Deny');
    const only = statements.find((s) => s.Sid === 'OnlyThePublishers');
    expect(only).toMatchObject({ Effect: 'Deny', Action: 'sns:Publish', Principal: { AWS: '*' } });
    const roles = (only.Condition.ArnNotEquals['aws:PrincipalArn'] as any[])
      .map((r) => r['Fn::GetAtt'][0])
      .sort();
    expect(roles.map((r: string) => r.replace(/[0-9A-F]{8}$/, ''))).toEqual([
      'Rolefleetrecord',
      'Roleguardstep',
      'Rolerecordfailure',
    ]);
    expect(only.Condition.StringNotEquals['aws:PrincipalServiceName']).toBe('cloudwatch.amazonaws.com');
  });

  it('is the action of every failure alarm', () => {
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')) as any[];
    // Environment, fleet and guard failures, the RDS events' dead-letter queue, and a schedule
    // tick in the schedules' dead-letter queue.
    expect(alarms).toHaveLength(5);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([topicRef()]);
  });

  it('gives the topic to the three publishers only', () => {
    const fns = Object.entries(t.findResources('AWS::Lambda::Function')) as [string, any][];
    const withTopic = fns
      .filter(([, f]) => f.Properties.Environment.Variables.CIM_NOTIFY_TOPIC_ARN)
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
    expect(withTopic).toEqual(['Fnfleetrecord', 'Fnguardstep', 'Fnrecordfailure']);
  });

  it('uses an existing topic from the configuration instead of creating one', () => {
    const config = parse(readFileSync('environments.yaml', 'utf8'));
    config.stack.notificationTopicArn = 'arn:aws:sns:us-east-1:111122223333:ops-alerts';
    const file = join(dir, 'environments.yaml');
    writeFileSync(file, stringify(config));
    const { template } = synthesizeStack(file);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[])
      expect(a.Properties.AlarmActions).toEqual(['arn:aws:sns:us-east-1:111122223333:ops-alerts']);
  }, 120_000);
});
