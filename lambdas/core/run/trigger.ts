// Owns how a run was started (issue 18), derived from what its request already carries, so
// no caller has to say it: a fleet's child is started by Step Functions with the parent's
// execution id in its input (associateWithParent), a schedule's fleet passes its user
// `schedule:<name>` to every child, the guard's user is `guard:<why>`. Anything else was
// started by a person or a CI job through the CLI or StartExecution: `cli`. A wake on demand
// (issue 19) runs its up, its end and its TTL's down as `wake:<user>`: `wake`.
import type { Trigger } from '../report/model.ts';

export type RunTrigger = Exclude<Trigger, 'unknown'>;
export const RUN_TRIGGERS: readonly RunTrigger[] = ['schedule', 'cli', 'fleet', 'guard', 'wake'];

/** The user a wake's runs carry: the person who woke it (or ended it), marked as a wake's. */
export const wakeUser = (user: string) => `wake:${user}`;

export function triggerOf(request: { user: string; startedByExecution?: string | undefined }): RunTrigger {
  if (request.user.startsWith('schedule:')) return 'schedule';
  if (request.user === 'guard' || request.user.startsWith('guard:')) return 'guard';
  if (request.user.startsWith('wake:')) return 'wake';
  if (request.startedByExecution) return 'fleet';
  return 'cli';
}
