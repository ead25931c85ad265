// Owns the database side: RDS instances and Aurora clusters (describe, start, stop), and
// the classification of their states into stable, transient and error.
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  type RDSClientConfig,
  StartDBClusterCommand,
  StartDBInstanceCommand,
  StopDBClusterCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import type { Environment } from '../config/schema.ts';
import {
  AWS_REQUEST_TIMEOUTS,
  CimError,
  ErrorNames,
  errorMessage,
  errorName,
  wrapAwsError,
} from '../errors.ts';
import type { DatabaseState } from '../records/legacy-state.ts';

export type DatabaseTarget = Environment['database'];
export type DatabaseGoal = 'available' | 'stopped';

export interface DatabaseGateway {
  describe(db: DatabaseTarget): Promise<DatabaseState>;
  start(db: DatabaseTarget): Promise<void>;
  stop(db: DatabaseTarget): Promise<void>;
}

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

export class RdsDatabaseGateway implements DatabaseGateway {
  constructor(private readonly rds: RDSClient) {}

  async describe(db: DatabaseTarget): Promise<DatabaseState> {
    try {
      if (db.kind === 'cluster') {
        const out = await this.rds.send(
          new DescribeDBClustersCommand({ DBClusterIdentifier: db.identifier }),
        );
        const c = out.DBClusters?.[0];
        return { kind: 'cluster', identifier: db.identifier, exists: Boolean(c), state: c?.Status ?? null };
      }
      const out = await this.rds.send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: db.identifier }),
      );
      const i = out.DBInstances?.[0];
      return {
        kind: 'instance',
        identifier: db.identifier,
        exists: Boolean(i),
        state: i?.DBInstanceStatus ?? null,
      };
    } catch (err) {
      const n = errorName(err);
      if (
        n === 'DBInstanceNotFoundFault' ||
        n === 'DBClusterNotFoundFault' ||
        n === 'DBInstanceNotFound' ||
        n === 'DBClusterNotFound'
      ) {
        return { kind: db.kind, identifier: db.identifier, exists: false, state: null };
      }
      throw wrapAwsError(err, `describing ${label(db)}`);
    }
  }

  async start(db: DatabaseTarget): Promise<void> {
    await this.act(db, 'start');
  }

  async stop(db: DatabaseTarget): Promise<void> {
    await this.act(db, 'stop');
  }

  private async act(db: DatabaseTarget, verb: 'start' | 'stop'): Promise<void> {
    try {
      const cluster = { DBClusterIdentifier: db.identifier };
      const instance = { DBInstanceIdentifier: db.identifier };
      if (db.kind === 'cluster' && verb === 'start') await this.rds.send(new StartDBClusterCommand(cluster));
      else if (db.kind === 'cluster') await this.rds.send(new StopDBClusterCommand(cluster));
      else if (verb === 'start') await this.rds.send(new StartDBInstanceCommand(instance));
      else await this.rds.send(new StopDBInstanceCommand(instance));
    } catch (err) {
      const wrapped = wrapAwsError(err, `${verb} ${label(db)}`);
      if (wrapped instanceof CimError) throw wrapped;
      throw new CimError(
        ErrorNames.DatabaseActionFailed,
        `${verb} ${label(db)} failed: ${errorName(err)}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
  }
}

export const label = (db: DatabaseTarget) =>
  db.kind === 'cluster' ? `Aurora cluster '${db.identifier}'` : `RDS instance '${db.identifier}'`;

export const rdsClientFor = (region: string, credentials?: RDSClientConfig['credentials']) =>
  new RDSClient({ region, requestHandler: AWS_REQUEST_TIMEOUTS, ...(credentials ? { credentials } : {}) });

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
