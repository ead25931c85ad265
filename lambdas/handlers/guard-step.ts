// Tasks "Keep database stopped" and "Record guard failure": one look at the parked database per call.
import { resolveEnvironment } from '#core/config/catalog';
import { label } from '#core/database/rules';
import { guardFailure, guardStep } from '#core/guard/guard';
import { guardNotification, notify } from '#core/notify/notify';
import { GuardSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('guard-step', GuardSteps.step, async (deps, event) => {
  const ctx = event as unknown as { error?: unknown };
  if (ctx.error) return guardFailure(deps, ctx);
  const next = await guardStep(deps, ctx);
  if (next.phase === 'done') {
    const env = resolveEnvironment(deps.config, next.customer, next.environment, deps.configSource);
    await notify(deps, guardNotification(next, label(env.database)));
  }
  return next;
});
