// Task "Plan dry run": say what down/up would change; changes nothing.
import { Steps } from '#core/steps';
import { planDryRun, type RunContext } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('plan-dry-run', Steps.planDryRun, (_deps, ctx: RunContext) =>
  planDryRun(ctx),
);
