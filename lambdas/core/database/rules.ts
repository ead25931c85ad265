// Owns the rules of the database side (RDS instances and Aurora clusters): the classification
// of their states into stable, transient and error, and converging one step towards a goal.
// The RDS calls themselves are in clients/rds.ts.
import { CimError, ErrorNames, errorName } from '../errors.ts';
import type { DatabaseGateway, DatabaseTarget } from '../gateways/database.ts';
import type { DatabaseState } from '../records/legacy-state.ts';

export type DatabaseGoal = 'available' | 'stopped';

const ERROR_STATES = new Set([
  'failed',
  'storage-full',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'restore-error',
  'insufficient-capacity',
  'deleting',
  'deleted',
]);

export type StateClass = 'stable' | 'transient' | 'error';

/** available/stopped are stable; failed, incompatible-*, storage-full... are errors; the rest are in progress. */
export function classifyDatabaseState(state: string | null): StateClass {
  if (state === 'available' || state === 'stopped') return 'stable';
  if (state === null || ERROR_STATES.has(state) || state.startsWith('incompatible-')) return 'error';
  return 'transient';
}

export const label = (db: DatabaseTarget) =>
  db.kind === 'cluster' ? `Aurora cluster '${db.identifier}'` : `RDS instance '${db.identifier}'`;

/**
 * One step of converging the database towards `goal`: issue start/stop when it sits in
 * the opposite stable state, do nothing while it is in progress or already there.
 * A database that restarted itself after 7 days stopped is `starting`: we wait for
 * `available` and only then stop it, instead of failing on InvalidDBInstanceState.
 */
export async function convergeDatabase(
  gw: DatabaseGateway,
  db: DatabaseTarget,
  goal: DatabaseGoal,
  /** Runs right before a start/stop is issued (the lock fence of a polling step). */
  beforeAct?: () => Promise<void>,
): Promise<{ state: DatabaseState; issued: 'start' | 'stop' | null }> {
  const state = await gw.describe(db);
  if (!state.exists) {
    throw new CimError(
      ErrorNames.DatabaseNotFound,
      `${label(db)} does not exist in this account/region. Check database.identifier in the configuration.`,
    );
  }
  const cls = classifyDatabaseState(state.state);
  if (cls === 'error') {
    throw new CimError(
      ErrorNames.DatabaseErrorState,
      `${label(db)} is in error state '${state.state}'; fix it in the RDS console, then run again.`,
    );
  }
  if (cls === 'stable' && state.state !== goal) {
    await beforeAct?.();
    try {
      if (goal === 'stopped') await gw.stop(db);
      else await gw.start(db);
    } catch (err) {
      // Someone else moved it between describe and act: not an error, the next poll sees it.
      const n = errorName(err);
      const cause = (err as { cause?: unknown }).cause;
      const inner = cause ? errorName(cause) : n;
      if (!/^InvalidDB(Instance|Cluster)State/.test(inner)) throw err;
      return { state, issued: null };
    }
    return { state, issued: goal === 'stopped' ? 'stop' : 'start' };
  }
  return { state, issued: null };
}
