// Task "Schedule wake down": the wake's one-time EventBridge Scheduler schedule at its until
// (the stack names the TTL function, the role and the group); none on the local engine.
import { EventBridgeWakeSchedules } from '#core/clients/scheduler';
import { scheduleWakeDownStep } from '#core/run/wake-steps';
import { wakeScheduleTargetFrom } from '#core/run/wake-ttl';
import { Steps } from '#core/steps';
// Its input is the run context (or Prepare's answer of a renewal), not a request: taken whole.
import { defineTask } from './runtime.ts';

export const handler = defineTask('schedule-wake-down', Steps.scheduleWakeDown, (deps, event) => {
  const target = wakeScheduleTargetFrom(process.env);
  const scheduler = target ? { schedules: new EventBridgeWakeSchedules(), target } : null;
  return scheduleWakeDownStep(deps, scheduler, event as unknown, Steps.scheduleWakeDown);
});
