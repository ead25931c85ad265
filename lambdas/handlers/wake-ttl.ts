// The function a wake's one-time schedule invokes at its until: decides again from the records
// for that one environment and, if the wake still holds it, starts the environment workflow's
// down (#core/run/wake-ttl). It reads records and starts executions; it writes nothing.
import { EventBridgeWakeSchedules } from '#core/clients/scheduler';
import { SfnExecutions } from '#core/clients/sfn-executions';
import { CimError, ErrorNames } from '#core/errors';
import { STATE_MACHINE_ARN_VARIABLE, ttlDown, wakeScheduleTargetFrom } from '#core/run/wake-ttl';
import { WAKE_TTL_FUNCTION } from '#core/steps';
import { defineTask } from './runtime.ts';

const executions = new SfnExecutions();

export const handler = defineTask(WAKE_TTL_FUNCTION, 'Wake TTL', async (deps, event) => {
  const arn = process.env[STATE_MACHINE_ARN_VARIABLE];
  if (!arn) throw new CimError(ErrorNames.ConfigInvalid, `${STATE_MACHINE_ARN_VARIABLE} is not set`);
  // defineTask hands an object event over as it is: the schedule's input is the event.
  // Its own schedule (the stack names this function, the role and the group): to look again.
  const target = wakeScheduleTargetFrom(process.env);
  const scheduler = target ? { schedules: new EventBridgeWakeSchedules(), target } : null;
  return ttlDown({ ...deps, executions, environmentStateMachineArn: arn, scheduler }, event);
});
