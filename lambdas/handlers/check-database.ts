// Tasks "Check database stopped" / "Check database available": one poll, returns the next wait.
import { checkDatabase } from '#core/run/polls';
import { defineStep } from './runtime.ts';

export const handler = defineStep('check-database', 'Check database', checkDatabase);
