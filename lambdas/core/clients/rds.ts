// Owns the RDS calls of the database gateway: describe, start and stop an instance or an
// Aurora cluster, with the SDK's errors turned into the tool's.
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
import { label } from '../database/rules.ts';
import {
  AWS_REQUEST_TIMEOUTS,
  CimError,
  ErrorNames,
  errorMessage,
  errorName,
  wrapAwsError,
} from '../errors.ts';
import type { DatabaseGateway, DatabaseTarget } from '../gateways/database.ts';
import type { DatabaseState } from '../records/legacy-state.ts';

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

export const rdsClientFor = (region: string, credentials?: RDSClientConfig['credentials']) =>
  new RDSClient({ region, requestHandler: AWS_REQUEST_TIMEOUTS, ...(credentials ? { credentials } : {}) });
