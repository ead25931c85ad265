// The fleet as deployed: its own two functions (selection claims the build and writes the
// item list, the summary reads the map run's results and writes its record, all under fleet/
// in the state buckets), a second state machine whose Distributed Map starts the environment
// workflow once per environment, and one EventBridge schedule per configured schedule.
import { Duration, TimeZone } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
} from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { holidaysInput } from '#core/config/holidays';
import { scheduleSelection } from '#core/config/schedules';
import type { Config } from '#core/config/schema';
import { describeSelection } from '#core/config/selection';
import { configuredFleetTimeoutSeconds } from '#core/fleet/fleet';
import { type FleetFunctionId, FleetFunctions } from '#core/steps';
import { buildFleetWorkflow } from '../workflows/fleet.ts';
import type { MakeFunction } from './function.ts';
import { addScheduleDelivery, type ScheduleDelivery } from './schedule-delivery.ts';
import { type WorkflowStateMachine, workflowStateMachine } from './workflow-state-machine.ts';

export interface Fleet extends WorkflowStateMachine {
  functions: Record<FleetFunctionId, NodejsFunction>;
}

/** `id` is the stack's id: the state machine is customer-infra-manager-fleet-<id>. */
export function addFleet(
  scope: Construct,
  id: string,
  o: {
    config: Config;
    makeFunction: MakeFunction;
    buckets: readonly IBucket[];
    environmentWorkflow: IStateMachine;
    key: IKey | undefined;
  },
): Fleet {
  const functions = {} as Record<FleetFunctionId, NodejsFunction>;
  for (const fid of Object.keys(FleetFunctions) as FleetFunctionId[]) functions[fid] = o.makeFunction(fid);
  for (const fn of Object.values(functions))
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: o.buckets.map((bucket) => bucket.arnForObjects('fleet/*')),
      }),
    );
  const machine = workflowStateMachine(scope, {
    ids: { stateMachine: 'FleetWorkflow', logs: 'FleetWorkflowLogs', alarm: 'FleetFailures' },
    name: `customer-infra-manager-fleet-${id}`,
    definition: buildFleetWorkflow(scope, functions, o.environmentWorkflow, o.buckets),
    // Outlasts its children even one at a time (fleet-capacity.ts): a timed-out fleet would
    // stop them mid-run with their locks held. Select refuses a request that could take longer.
    timeout: Duration.seconds(configuredFleetTimeoutSeconds(o.config)),
    key: o.key,
    alarmDescription:
      'A fleet run had failed environments: see its summary record and the failed child executions.',
  });
  return { ...machine, functions };
}

/**
 * One EventBridge schedule per configured schedule, whatever the size of its selection.
 * The tick's scheduled time names the fleet's build, so a tick delivered twice is refused
 * by the build-id rule instead of running twice. Returns the schedules' delivery settings
 * (the guard's sweep uses them too) and their alarm.
 */
export function addFleetSchedules(
  scope: Construct,
  config: Config,
  fleetWorkflow: IStateMachine,
): { delivery: ScheduleDelivery; alarm: Alarm } {
  const schedules = addScheduleDelivery(scope);
  for (const s of config.schedules) {
    const sel = scheduleSelection(s);
    new Schedule(scope, `Schedule-${s.name}`, {
      description: `${s.action} ${describeSelection(sel)} (${s.name})`,
      schedule: ScheduleExpression.expression(`cron(${s.cron})`, TimeZone.of(s.timeZone)),
      target: new StepFunctionsStartExecution(fleetWorkflow, {
        ...schedules.delivery,
        input: ScheduleTargetInput.fromObject({
          action: s.action,
          selection: { patterns: sel.patterns, labels: sel.labels },
          user: `schedule:${s.name}`,
          dryRun: false,
          schedule: s.name,
          scheduledTime: ContextAttribute.scheduledTime,
          ...(s.maxConcurrency !== undefined ? { maxConcurrency: s.maxConcurrency } : {}),
          ...(s.maxLatenessSeconds !== undefined ? { maxLatenessSeconds: s.maxLatenessSeconds } : {}),
          ...holidaysInput(s, config.calendars ?? {}),
        }),
      }),
    });
  }
  return schedules;
}
