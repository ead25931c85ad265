// The deployed report: a rule on the fleet state machine's status changes (every end) reaches
// the report function, retried, its failures in the stack's event dead-letter queue; the
// function may read the environments' records, write only report/* and read back only its day
// seals and the refreshed prices there (no delete, no
// Kubernetes, no RDS). The fleet and environment definitions are not changed for it.
import { beforeAll, describe, expect, it } from 'vitest';
import { REQUESTS_IN_FLIGHT } from '#core/report/read-budget';
import { REPORT_MEMORY_MIB, REPORT_TIMEOUT_SECONDS } from '#infra/constructs/report';
import { matches } from '../support/event-pattern.ts';
import { synthesizeStack } from '../support/synthesized.ts';

let s: ReturnType<typeof synthesizeStack>;
beforeAll(() => {
  s = synthesizeStack();
}, 120_000);

const FLEET = 'arn:aws:states:us-east-1:123456789012:stateMachine:customer-infra-manager-fleet-Test';
const event = (status: string, over: Record<string, unknown> = {}) => ({
  source: 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  account: '123456789012',
  region: 'us-east-1',
  detail: {
    executionArn: `${FLEET.replace(':stateMachine:', ':execution:')}:night-1`,
    stateMachineArn: FLEET,
    status,
  },
  ...over,
});

const actions = (st: { Action: string | string[] }) => (Array.isArray(st.Action) ? st.Action : [st.Action]);
const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(c.node.defaultChild as never);

describe('the report after each fleet run', () => {
  it('fires on every end of a fleet execution, of the fleet state machine only', () => {
    const rule = s.template.findResources('AWS::Events::Rule')[logicalId(s.stack.report.rule)] as any;
    const pattern = rule.Properties.EventPattern;
    expect(pattern.detail.stateMachineArn).toEqual([{ Ref: logicalId(s.stack.fleetStateMachine) }]);
    const concrete = { ...pattern, detail: { ...pattern.detail, stateMachineArn: [FLEET] } };
    for (const status of ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'])
      expect(matches(concrete, event(status)), status).toBe(true);
    for (const status of ['RUNNING', 'PENDING_REDRIVE'])
      expect(matches(concrete, event(status)), status).toBe(false);
    const environmentRun = event('SUCCEEDED');
    environmentRun.detail.stateMachineArn = FLEET.replace('-fleet-', '-');
    expect(matches(concrete, environmentRun)).toBe(false);
    expect(matches(concrete, event('SUCCEEDED', { source: 'custom.forged' }))).toBe(false);
    expect(matches(concrete, event('SUCCEEDED', { account: '999999999999' }))).toBe(false);
  });

  it('targets the report function with retries and the event dead-letter queue', () => {
    const rule = s.template.findResources('AWS::Events::Rule')[logicalId(s.stack.report.rule)] as any;
    const [target, ...more] = rule.Properties.Targets;
    expect(more).toEqual([]);
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(s.stack.report.function), 'Arn'] });
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThanOrEqual(2);
    const queueId = s.stack.getLogicalId((s.stack.eventFailures as any).node.defaultChild);
    expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
    const fn = s.template.findResources('AWS::Lambda::Function')[logicalId(s.stack.report.function)] as any;
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.Timeout).toBeGreaterThan(60);
  });

  it("may read the environments' records and write only report/*, nothing else", () => {
    const roleId = logicalId(s.stack.report.function.role as never);
    const statements = (Object.values(s.template.findResources('AWS::IAM::Policy')) as any[])
      .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
      .filter((st) => !actions(st).some((a: string) => a.startsWith('logs:') || a.startsWith('xray:')));
    expect([...new Set(statements.flatMap(actions))].sort()).toEqual(
      [
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:SendMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ].sort(),
    );
    for (const st of statements) {
      const text = JSON.stringify(st.Resource);
      if (actions(st).includes('s3:PutObject')) {
        expect(actions(st)).toEqual(['s3:PutObject']);
        expect(text).toMatch(/"\/report\/\*"\]\]\}$/);
      } else if (actions(st).includes('s3:GetObject')) {
        expect(actions(st)).toEqual(['s3:GetObject']);
        // The records, and of report/ only what it keeps for itself: the day seals and the prices.
        if (text.includes('/report/'))
          expect(text).toMatch(
            /"\/report\/index\/\*"\]\]\},\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["StateBucket[^"]+","Arn"\]\},"\/report\/prices\.json"\]\]\}\]$/,
          );
        else expect(text).toMatch(/"\/eks-dev-cluster\/\*"\]\]\}$/);
      } else if (actions(st).includes('s3:ListBucket'))
        expect([['eks-dev-cluster/*'], ['report/index/*', 'report/prices.json']]).toContainEqual(
          st.Condition.StringLike['s3:prefix'],
        );
      else expect(actions(st).every((a: string) => a.startsWith('sqs:'))).toBe(true);
    }
    expect(JSON.stringify(s.template.findResources('AWS::EKS::AccessEntry'))).not.toContain(roleId);
  });

  it('has the time and memory for the first, unsealed report of 2,000 environments over 30 days', () => {
    const fn = s.template.findResources('AWS::Lambda::Function')[logicalId(s.stack.report.function)] as any;
    expect(fn.Properties.Timeout).toBe(REPORT_TIMEOUT_SECONDS);
    expect(fn.Properties.MemorySize).toBe(REPORT_MEMORY_MIB);
    // Unsealed: per environment (30 + 2) days × (1 LIST + 2 GET) + 4 GET + drift's LIST and GET;
    // 48 in flight; 100 ms each.
    const requests = 2_000 * ((30 + 2) * 3 + 4 + 2);
    const seconds = (requests / REQUESTS_IN_FLIGHT) * 0.1;
    expect(seconds).toBeGreaterThan(300); // what the first version's 300 s would not have held
    expect(seconds * 2).toBeLessThan(REPORT_TIMEOUT_SECONDS);
  });
});
