// The rule on the environment executions' status changes: an execution that ends without its
// Catch (stopped, timed out, failed where no Catch catches) reaches the function that records
// it and releases its lock; deliveries are retried and end in an encrypted dead-letter queue;
// the function may touch actions.json and lock.json only.
import { beforeAll, describe, expect, it } from 'vitest';
import { matches } from '../support/event-pattern.ts';
import { synthesizeStack } from '../support/synthesized.ts';

let s: ReturnType<typeof synthesizeStack>;
beforeAll(() => {
  s = synthesizeStack();
}, 120_000);

const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:customer-infra-manager-Test';
const event = (status: string, over: Record<string, unknown> = {}) => ({
  source: 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  account: '123456789012',
  region: 'us-east-1',
  detail: {
    executionArn: `${SM.replace(':stateMachine:', ':execution:')}:run-1`,
    stateMachineArn: SM,
    status,
    input: '{"action":"down","customer":"alpha","environment":"dev","user":"jenkins"}',
  },
  ...over,
});

const actions = (st: { Action: string | string[] }) => (Array.isArray(st.Action) ? st.Action : [st.Action]);
const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(c.node.defaultChild as never);

describe('the execution status-change rule', () => {
  it('fires on ABORTED, TIMED_OUT and FAILED of the environment state machine only', () => {
    const rule = s.template.findResources('AWS::Events::Rule')[
      logicalId(s.stack.executionStatus.rule)
    ] as any;
    const pattern = rule.Properties.EventPattern;
    // The state machine is named by its own ARN (a Ref), so the fleet's and the guard's are not matched.
    expect(pattern.detail.stateMachineArn).toEqual([{ Ref: logicalId(s.stack.stateMachine) }]);
    const concrete = { ...pattern, detail: { ...pattern.detail, stateMachineArn: [SM] } };
    for (const status of ['ABORTED', 'TIMED_OUT', 'FAILED'])
      expect(matches(concrete, event(status))).toBe(true);
    for (const status of ['SUCCEEDED', 'RUNNING', 'PENDING_REDRIVE'])
      expect(matches(concrete, event(status)), status).toBe(false);
    const other = event('ABORTED');
    other.detail.stateMachineArn = `${SM}-fleet`;
    expect(matches(concrete, other)).toBe(false);
    expect(matches(concrete, event('ABORTED', { source: 'custom.forged' }))).toBe(false);
    expect(matches(concrete, event('ABORTED', { account: '999999999999' }))).toBe(false);
  });

  it('targets the function with a retry policy and an encrypted dead-letter queue', () => {
    const rule = s.template.findResources('AWS::Events::Rule')[
      logicalId(s.stack.executionStatus.rule)
    ] as any;
    const queueId = logicalId(s.stack.executionStatus.deadLetters);
    expect(rule.Properties.Targets).toHaveLength(1);
    const [target] = rule.Properties.Targets;
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(s.stack.executionStatus.function), 'Arn'] });
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThanOrEqual(2);
    expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(3600);
    expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
    const queue = s.template.findResources('AWS::SQS::Queue')[queueId] as any;
    expect(queue.Properties.SqsManagedSseEnabled ?? queue.Properties.KmsMasterKeyId).toBeTruthy();
    // A failed invocation (not only a failed delivery) ends there too.
    const invokeConfigs = Object.values(s.template.findResources('AWS::Lambda::EventInvokeConfig')) as any[];
    const own = invokeConfigs.find(
      (c) => c.Properties.FunctionName.Ref === logicalId(s.stack.executionStatus.function),
    );
    expect(own.Properties.DestinationConfig.OnFailure.Destination).toEqual({
      'Fn::GetAtt': [queueId, 'Arn'],
    });
    // Only EventBridge may send to the queue, over TLS.
    const policies = Object.values(s.template.findResources('AWS::SQS::QueuePolicy')) as any[];
    const statements = policies
      .filter((p) => p.Properties.Queues.some((q: any) => q.Ref === queueId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
    expect(
      statements.some(
        (st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    ).toBe(true);
    const allows = statements.filter((st) => st.Effect === 'Allow');
    expect(allows.map((st) => st.Principal)).toEqual([{ Service: 'events.amazonaws.com' }]);
  });

  it("grants the function actions.json and lock.json under the environments' prefixes, no Kubernetes or RDS", () => {
    const roleId = logicalId(s.stack.executionStatus.function.role as never);
    const statements = (Object.values(s.template.findResources('AWS::IAM::Policy')) as any[])
      .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
      .filter((st) => !actions(st).some((a: string) => a.startsWith('logs:') || a.startsWith('xray:')));
    expect([...new Set(statements.flatMap(actions))].sort()).toEqual(
      [
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
    for (const st of statements) {
      const text = JSON.stringify(st.Resource);
      if (actions(st).includes('s3:DeleteObject')) expect(text).toMatch(/\*lock\.json"\]\]\}/);
      else if (actions(st).includes('s3:PutObject')) expect(text).toMatch(/\*actions\.json"\]\]\}/);
      else if (actions(st).includes('s3:ListBucket'))
        expect(st.Condition.StringLike['s3:prefix']).toBeDefined();
      else expect(text).toContain(logicalId(s.stack.executionStatus.deadLetters));
    }
    // No access entry on any cluster (the other functions that touch Kubernetes have one).
    const principals = JSON.stringify(s.template.findResources('AWS::EKS::AccessEntry'));
    expect(principals).not.toContain(roleId);
  });
});
