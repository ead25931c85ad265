// The deployed TTL of wakes: the wake TTL function may only read the environments' records
// and start the environment workflow (no write, no delete, no other state machine); the
// scheduler's role, assumable by EventBridge Scheduler of this account for this stack's
// schedule group only, may only invoke that function; the group is the stack's own.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  STATE_MACHINE_ARN_VARIABLE,
  WAKE_SCHEDULE_GROUP_VARIABLE,
  WAKE_SCHEDULER_ROLE_ARN_VARIABLE,
  WAKE_TTL_FUNCTION_ARN_VARIABLE,
} from '#core/run/wake-ttl';
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

/**
 * The environment workflow's ARN, made from its fixed name (a reference would close a cycle:
 * the workflow invokes "Schedule wake down", whose environment names the TTL function).
 */
const workflowArn = () => {
  const machine = s.template.findResources('AWS::StepFunctions::StateMachine')[
    logicalId(s.stack.stateMachine)
  ] as any;
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        `:states:${s.stack.region}:${s.stack.account}:stateMachine:${machine.Properties.StateMachineName}`,
      ],
    ],
  };
};

describe('the wake TTL function', () => {
  it('may read the records, start the environment workflow and move its own schedule, nothing else', () => {
    const statements = statementsOf(logicalId(s.stack.wakeTtl.function.role as never)).filter(
      (st) => !actions(st).some((a: string) => a.startsWith('logs:') || a.startsWith('xray:')),
    );
    expect([...new Set(statements.flatMap(actions))].sort()).toEqual(
      [
        'iam:PassRole',
        's3:GetObject',
        's3:ListBucket',
        'scheduler:CreateSchedule',
        'scheduler:UpdateSchedule',
        'states:StartExecution',
      ].sort(),
    );
    // While a wake's up still runs past its until: its own schedule, in the stack's group only.
    const scheduling = statements.find((st) => actions(st).includes('scheduler:CreateSchedule'));
    expect(JSON.stringify(scheduling.Resource)).toContain(
      `:schedule/${wakeScheduleGroupName(s.stack.stackName)}/*`,
    );
    const fn = s.template.findResources('AWS::Lambda::Function')[logicalId(s.stack.wakeTtl.function)] as any;
    expect(JSON.stringify(fn.Properties.Environment.Variables[WAKE_TTL_FUNCTION_ARN_VARIABLE])).toContain(
      `:function:${fn.Properties.FunctionName}`,
    );
    const start = statements.filter((st) => actions(st).includes('states:StartExecution'));
    expect(start).toHaveLength(1);
    expect(start[0].Resource).toEqual(workflowArn());
  });

  it('is told the environment workflow’s ARN', () => {
    const fn = s.template.findResources('AWS::Lambda::Function')[logicalId(s.stack.wakeTtl.function)] as any;
    expect(fn.Properties.Environment.Variables[STATE_MACHINE_ARN_VARIABLE]).toEqual(workflowArn());
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

describe('the workflow’s wake function (Record wake, Schedule wake down)', () => {
  const scheduler = () => s.stack.functions['wake-run'];
  const own = () =>
    statementsOf(logicalId(scheduler().role as never)).filter(
      (st) => !actions(st).some((a: string) => a.startsWith('logs:') || a.startsWith('xray:')),
    );

  it('may create and move schedules in the stack’s group, and pass the scheduler’s role, besides S3', () => {
    const statements = own().filter((st) => !actions(st).some((a: string) => a.startsWith('s3:')));
    expect([...new Set(statements.flatMap(actions))].sort()).toEqual(
      ['iam:PassRole', 'scheduler:CreateSchedule', 'scheduler:UpdateSchedule'].sort(),
    );
    const create = statements.filter((st) => actions(st).includes('scheduler:CreateSchedule'));
    expect(create).toHaveLength(1);
    const resource = JSON.stringify(create[0].Resource);
    expect(resource).toContain(`:schedule/${wakeScheduleGroupName(s.stack.stackName)}/*`);
    expect(resource).not.toContain('schedule/*');
    const pass = statements.filter((st) => actions(st).includes('iam:PassRole'));
    expect(pass).toHaveLength(1);
    expect(pass[0].Resource).toEqual({ 'Fn::GetAtt': [logicalId(s.stack.wakeTtl.schedulerRole), 'Arn'] });
    expect(pass[0].Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
  });

  it('is told the TTL function, the scheduler’s role and the group', () => {
    const fn = s.template.findResources('AWS::Lambda::Function')[logicalId(scheduler())] as any;
    const vars = fn.Properties.Environment.Variables;
    // Made from the TTL function's fixed name (the function itself needs it too: no reference to itself).
    const ttl = s.template.findResources('AWS::Lambda::Function')[logicalId(s.stack.wakeTtl.function)] as any;
    expect(JSON.stringify(vars[WAKE_TTL_FUNCTION_ARN_VARIABLE])).toContain(
      `:function:${ttl.Properties.FunctionName}`,
    );
    expect(vars[WAKE_SCHEDULER_ROLE_ARN_VARIABLE]).toEqual({
      'Fn::GetAtt': [logicalId(s.stack.wakeTtl.schedulerRole), 'Arn'],
    });
    expect(vars[WAKE_SCHEDULE_GROUP_VARIABLE]).toBe(wakeScheduleGroupName(s.stack.stackName));
  });

  it('no other function may create schedules or pass a role (but the TTL function, its own)', () => {
    const allowed = [scheduler().role, s.stack.wakeTtl.function.role].map((r) => logicalId(r as never));
    const others = (Object.values(s.template.findResources('AWS::IAM::Policy')) as any[])
      .filter((p) => !p.Properties.Roles.some((r: any) => allowed.includes(r.Ref)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
      .flatMap(actions);
    expect(others.filter((a: string) => a.startsWith('scheduler:') || a === 'iam:PassRole')).toEqual([]);
  });
});

describe('the wake ledgers', () => {
  it('are written by the wake function and read by Prepare, under wake-ledger/users/ only', () => {
    const ledgerStatements = (fid: 'wake-run' | 'prepare') =>
      statementsOf(logicalId(s.stack.functions[fid].role as never)).filter((st) =>
        JSON.stringify(st.Resource).includes('wake-ledger/users/'),
      );
    expect(ledgerStatements('wake-run').flatMap(actions).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(ledgerStatements('prepare').flatMap(actions)).toEqual(['s3:GetObject']);
  });
});
