// The deployed TTL of wakes: the wake TTL function may only read the environments' records
// and start the environment workflow (no write, no delete, no other state machine); the
// scheduler's role, assumable by EventBridge Scheduler of this account for this stack's
// schedule group only, may only invoke that function; the group is the stack's own.
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_MACHINE_ARN_VARIABLE } from '#core/run/wake-ttl';
import { wakeScheduleGroupName } from '#infra/constructs/wake-ttl';
import { synthesizeStack } from '../support/synthesized.ts';

let s: ReturnType<typeof synthesizeStack>;
beforeAll(() => {
  s = synthesizeStack();
}, 120_000);

const actions = (st: { Action: string | string[] }) => (Array.isArray(st.Action) ? st.Action : [st.Action]);
const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(c.node.defaultChild as never);
const statementsOf = (roleId: string) =>
  (Object.values(s.template.findResources('AWS::IAM::Policy')) as any[])
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);

describe('the wake TTL function', () => {
  it('may read the records and start the environment workflow, nothing else', () => {
    const statements = statementsOf(logicalId(s.stack.wakeTtl.function.role as never)).filter(
      (st) => !actions(st).some((a: string) => a.startsWith('logs:') || a.startsWith('xray:')),
    );
    expect([...new Set(statements.flatMap(actions))].sort()).toEqual(
      ['s3:GetObject', 's3:ListBucket', 'states:StartExecution'].sort(),
    );
    const start = statements.filter((st) => actions(st).includes('states:StartExecution'));
    expect(start).toHaveLength(1);
    expect(start[0].Resource).toEqual({ Ref: logicalId(s.stack.stateMachine) });
  });

  it('is told the environment workflow’s ARN', () => {
    const fn = s.template.findResources('AWS::Lambda::Function')[logicalId(s.stack.wakeTtl.function)] as any;
    expect(fn.Properties.Environment.Variables[STATE_MACHINE_ARN_VARIABLE]).toEqual({
      Ref: logicalId(s.stack.stateMachine),
    });
  });
});

describe('the wake schedules', () => {
  it('live in the stack’s own schedule group', () => {
    const groups = Object.values(s.template.findResources('AWS::Scheduler::ScheduleGroup')) as any[];
    expect(groups.map((g) => g.Properties.Name)).toEqual([wakeScheduleGroupName(s.stack.stackName)]);
    expect(wakeScheduleGroupName('x'.repeat(100)).length).toBeLessThanOrEqual(64);
  });

  it('invoke the function through a role that may only invoke that function', () => {
    const statements = statementsOf(logicalId(s.stack.wakeTtl.schedulerRole));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [logicalId(s.stack.wakeTtl.function), 'Arn'] },
      },
    ]);
  });

  it('use a role only EventBridge Scheduler of this account, for this group, may assume', () => {
    const role = s.template.findResources('AWS::IAM::Role')[logicalId(s.stack.wakeTtl.schedulerRole)] as any;
    const [trust, ...more] = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(more).toEqual([]);
    expect(trust.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Condition.StringEquals['aws:SourceAccount']).toBeDefined();
    expect(JSON.stringify(trust.Condition.ArnLike['aws:SourceArn'])).toContain(
      `schedule/${wakeScheduleGroupName(s.stack.stackName)}/*`,
    );
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});
