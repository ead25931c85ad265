// Owns the RDS calls of the database gateway: describe, start and stop an instance or an
// Aurora cluster, with the SDK's errors turned into the tool's.
import {
  type DBCluster,
  type DBInstance,
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
import type { DatabaseGateway, DatabaseTarget, DescribeOptions } from '../gateways/database.ts';
import type { DatabaseFactsState, DatabaseMember } from '../records/database-facts.ts';
import type { DatabaseState } from '../records/legacy-state.ts';

const orNull = <T>(v: T | undefined): T | null => v ?? null;

/** What the bill of an instance depends on: all in the DescribeDBInstances answer. */
function instanceFacts(i: DBInstance): DatabaseFactsState {
  return {
    engine: orNull(i.Engine),
    instanceClass: orNull(i.DBInstanceClass),
    multiAz: orNull(i.MultiAZ),
    storage: {
      allocatedGb: orNull(i.AllocatedStorage),
      type: orNull(i.StorageType),
      iops: orNull(i.Iops),
    },
  };
}

/** A cluster's: the members' classes are not in DescribeDBClusters (see `members`). */
function clusterFacts(c: DBCluster, classes: Map<string, string> | null): DatabaseFactsState {
  const v2 = c.ServerlessV2ScalingConfiguration;
  return {
    engine: orNull(c.Engine),
    instanceClass: orNull(c.DBClusterInstanceClass),
    multiAz: orNull(c.MultiAZ),
    storage: {
      allocatedGb: orNull(c.AllocatedStorage),
      type: orNull(c.StorageType),
      iops: orNull(c.Iops),
    },
    ...(classes
      ? {
          members: (c.DBClusterMembers ?? []).map(
            (m): DatabaseMember => ({
              identifier: m.DBInstanceIdentifier ?? '',
              instanceClass: classes.get(m.DBInstanceIdentifier ?? '') ?? null,
              writer: m.IsClusterWriter ?? false,
            }),
          ),
        }
      : {}),
    serverlessV2:
      v2?.MinCapacity !== undefined && v2.MaxCapacity !== undefined
        ? { minAcu: v2.MinCapacity, maxAcu: v2.MaxCapacity }
        : null,
  };
}

export class RdsDatabaseGateway implements DatabaseGateway {
  constructor(private readonly rds: RDSClient) {}

  async describe(db: DatabaseTarget, o: DescribeOptions = {}): Promise<DatabaseState> {
    try {
      if (db.kind === 'cluster') {
        const out = await this.rds.send(
          new DescribeDBClustersCommand({ DBClusterIdentifier: db.identifier }),
        );
        const c = out.DBClusters?.[0];
        if (!c) return { kind: 'cluster', identifier: db.identifier, exists: false, state: null };
        // Refused (the deployed roles may describe the configured identifiers only): the
        // members are still listed, each of unknown class.
        const classes = !o.members
          ? null
          : c.DBClusterMembers?.length
            ? ((await this.memberClasses(db.identifier)) ?? new Map<string, string>())
            : new Map<string, string>();
        return {
          kind: 'cluster',
          identifier: db.identifier,
          exists: true,
          state: c.Status ?? null,
          facts: clusterFacts(c, classes),
        };
      }
      const out = await this.rds.send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: db.identifier }),
      );
      const i = out.DBInstances?.[0];
      if (!i) return { kind: 'instance', identifier: db.identifier, exists: false, state: null };
      return {
        kind: 'instance',
        identifier: db.identifier,
        exists: true,
        state: i.DBInstanceStatus ?? null,
        facts: instanceFacts(i),
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

  /**
   * The class of each member of a cluster: one DescribeDBInstances filtered by the cluster
   * (up to 100 instances a page; Aurora has at most 16 members), counted in the RDS budget.
   * Null when RDS refused it: IAM authorizes a filtered DescribeDBInstances on every instance
   * of the region (db:*), which the deployed policies do not grant (the member names are not
   * in the configuration); sandbox and local runs with wider credentials get the classes.
   */
  private async memberClasses(cluster: string): Promise<Map<string, string> | null> {
    let out: { DBInstances?: DBInstance[] | undefined };
    try {
      out = await this.rds.send(
        new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: [cluster] }] }),
      );
    } catch {
      // Facts for the report only: a run never fails for them (the members read as unknown).
      return null;
    }
    const classes = new Map<string, string>();
    for (const i of out.DBInstances ?? [])
      if (i.DBInstanceIdentifier && i.DBInstanceClass) classes.set(i.DBInstanceIdentifier, i.DBInstanceClass);
    return classes;
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
