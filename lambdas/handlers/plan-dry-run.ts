// Task "Plan dry run": say what down/up would change, as data; changes nothing.

import { planDryRun } from '#core/run/plan';
import { Steps } from '#core/steps';
import { defineStep } from './runtime.ts';

export const handler = defineStep('plan-dry-run', Steps.planDryRun, planDryRun);
