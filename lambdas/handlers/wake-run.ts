// Tasks "Record wake" and "Schedule wake down" (and their renewal twins): one function, told
// its step by the payload, so that a wake adds one function to the workflow's role, not two.
// Record: wake.json claimed, the wake counted in the rate-limit ledgers. Schedule: the wake's
// one-time EventBridge Scheduler schedule at its until (the stack names the TTL function, the
// role and the group); none on the local engine.
import { EventBridgeWakeSchedules } from '#core/clients/scheduler';
import { wakeStep } from '#core/run/wake-steps';
import { wakeScheduleTargetFrom } from '#core/run/wake-ttl';
import { defineTask } from './runtime.ts';

// Its errors name the step ("Wake: Schedule wake down: ..."): wakeStep puts it in front.
export const handler = defineTask('wake-run', 'Wake', (deps, event) => {
  const target = wakeScheduleTargetFrom(process.env);
  const scheduler = target ? { schedules: new EventBridgeWakeSchedules(), target } : null;
  return wakeStep(deps, scheduler, event as unknown);
});
