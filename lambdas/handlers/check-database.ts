// Tasks "Check database stopped" / "Check database available": one poll, returns the next wait.
import { checkDatabase } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('check-database', 'Check database', checkDatabase);
