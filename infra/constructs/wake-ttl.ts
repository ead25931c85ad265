// The deployed time to live of wakes on demand (issue 19): the function a wake's one-time
// EventBridge Scheduler schedule invokes at its until (lambdas/core/run/wake-ttl.ts), the
// schedule group the schedules are created in, and the role the scheduler invokes the
// function as. The schedules themselves are made per wake, at run time, by whoever wakes
// (run/wake-ttl.ts scheduleWakeDown), in this group, with this role and this function.
// Least privilege: the scheduler's role may only invoke this function; the function may only
// read the records (WAKE_TTL_NEEDS), start executions of the environment workflow, and move
// its own schedule in this group (passing only the scheduler's role).
import { ArnFormat, CfnOutput, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  STATE_MACHINE_ARN_VARIABLE,
  WAKE_SCHEDULE_GROUP,
  WAKE_SCHEDULE_GROUP_VARIABLE,
  WAKE_SCHEDULER_ROLE_ARN_VARIABLE,
  WAKE_TTL_FUNCTION_ARN_VARIABLE,
} from '#core/run/wake-ttl';
import { WAKE_TTL_FUNCTION } from '#core/steps';
import type { ScopedGrants } from '../iam/grants.ts';
import { WAKE_TTL_NEEDS } from '../iam/needs.ts';
import type { MakeFunction } from './function.ts';

export interface WakeTtl {
  function: NodejsFunction;
  /** The role EventBridge Scheduler assumes to invoke the function. */
  schedulerRole: Role;
  group: CfnScheduleGroup;
  /** The group's name: one per stack, so two deployments in an account keep their wakes apart. */
  groupName: string;
}

/** A schedule group's name: letters, digits, `.`, `-`, `_`, at most 64. */
export const wakeScheduleGroupName = (stackName: string) =>
  `${WAKE_SCHEDULE_GROUP}-${stackName}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);

export function addWakeTtl(
  scope: Construct,
  o: {
    makeFunction: MakeFunction;
    grants: ScopedGrants;
    environmentWorkflow: IStateMachine;
    /**
     * Its fixed name: the ARN is made from it, not referenced. The workflow invokes "Schedule
     * wake down", whose environment names this function, whose policy and environment name
     * the workflow: a reference would close that circle (CloudFormation refuses the cycle).
     */
    environmentWorkflowName: string;
    /** The environment workflow's "Schedule wake down" function: it creates the schedules. */
    scheduler?: NodejsFunction;
  },
): WakeTtl {
  const stack = Stack.of(scope);
  const workflowArn = stack.formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: o.environmentWorkflowName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  // A fixed name, so its own ARN is known without a reference to itself: while a wake's up
  // still runs past its until, the function puts its own schedule back a few minutes on.
  const functionName = `${stack.stackName}-wake-ttl`.replace(/[^A-Za-z0-9_-]/g, '-').slice(-64);
  const fnArn = stack.formatArn({
    service: 'lambda',
    resource: 'function',
    resourceName: functionName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const fn = o.makeFunction(WAKE_TTL_FUNCTION, { functionName });
  o.grants.grant(fn, WAKE_TTL_NEEDS);
  // StartExecution on the environment workflow only (not its executions, not the fleet's).
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['states:StartExecution'],
      resources: [workflowArn],
    }),
  );
  fn.addEnvironment(STATE_MACHINE_ARN_VARIABLE, workflowArn);

  const groupName = wakeScheduleGroupName(stack.stackName);
  const group = new CfnScheduleGroup(scope, 'WakeSchedules', { name: groupName });
  const schedulerRole = new Role(scope, 'WakeSchedulerRole', {
    // Only schedules of this account in this group may use it (no confused deputy).
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: {
          'aws:SourceArn': `arn:${stack.partition}:scheduler:${stack.region}:${stack.account}:schedule/${groupName}/*`,
        },
      },
    }),
    description:
      "customer-infra-manager: a wake's one-time schedule invokes the wake TTL function, nothing else",
  });
  // The function itself, not its versions (ARN:*): the schedules target the function's ARN.
  schedulerRole.addToPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['lambda:InvokeFunction'],
      resources: [fn.functionArn],
    }),
  );
  if (o.scheduler) grantScheduling(o.scheduler, { stack, groupName, fnArn, schedulerRole });
  grantScheduling(fn, { stack, groupName, fnArn, schedulerRole });
  new CfnOutput(scope, 'WakeTtlFunctionArn', { value: fn.functionArn });
  new CfnOutput(scope, 'WakeSchedulerRoleArn', { value: schedulerRole.roleArn });
  new CfnOutput(scope, 'WakeScheduleGroup', { value: groupName });
  return { function: fn, schedulerRole, group, groupName };
}

/**
 * The workflow's "Schedule wake down" creates (or moves) a wake's schedule, and the TTL
 * function moves its own a few minutes on while the wake's up still runs: in this stack's
 * group only, naming this function as target and this role, which it may pass to the
 * scheduler and to nothing else. No GetSchedule or DeleteSchedule: it never reads or removes.
 */
function grantScheduling(
  scheduler: NodejsFunction,
  o: { stack: Stack; groupName: string; fnArn: string; schedulerRole: Role },
): void {
  scheduler.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule'],
      resources: [
        `arn:${o.stack.partition}:scheduler:${o.stack.region}:${o.stack.account}:schedule/${o.groupName}/*`,
      ],
    }),
  );
  scheduler.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['iam:PassRole'],
      resources: [o.schedulerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    }),
  );
  scheduler.addEnvironment(WAKE_TTL_FUNCTION_ARN_VARIABLE, o.fnArn);
  scheduler.addEnvironment(WAKE_SCHEDULER_ROLE_ARN_VARIABLE, o.schedulerRole.roleArn);
  scheduler.addEnvironment(WAKE_SCHEDULE_GROUP_VARIABLE, o.groupName);
}
