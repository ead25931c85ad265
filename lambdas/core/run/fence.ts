// Owns the fence every changing step runs first: the lock must still be this run's, and the
// step is written into it. Apart from the steps so that all of them (and the database wait)
// can use it without importing one another.
import { type Deps, envOf, type RunContext } from '../contracts.ts';
import { fenceLock } from '../records/lock.ts';

/** Checks the lock is still this run's and records the step in it; a no-op for read-only runs. */
export async function fence(deps: Deps, ctx: RunContext, step: string): Promise<void> {
  if (!ctx.lock) return;
  await fenceLock(deps.store(envOf(deps, ctx)), ctx.lock, step, deps.now());
}
