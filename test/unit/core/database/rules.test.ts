import {
  DBInstanceNotFoundFault,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  RDSClient,
  RDSServiceException,
  StartDBClusterCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { RdsDatabaseGateway } from '#core/clients/rds';
import { classifyDatabaseState, convergeDatabase } from '#core/database/rules';

const rds = mockClient(RDSClient);
const gw = new RdsDatabaseGateway(new RDSClient({ region: 'us-east-1' }));
const instance = { kind: 'instance' as const, identifier: 'alpha-dev-rds' };
const cluster = { kind: 'cluster' as const, identifier: 'beta-staging-aurora' };
const status = (s: string) => ({
  DBInstances: [{ DBInstanceIdentifier: 'alpha-dev-rds', DBInstanceStatus: s }],
});
afterEach(() => rds.reset());

describe('database states', () => {
  it.each([
    ['available', 'stable'],
    ['stopped', 'stable'],
    ['starting', 'transient'],
    ['stopping', 'transient'],
    ['backing-up', 'transient'],
    ['configuring-enhanced-monitoring', 'transient'],
    ['failed', 'error'],
    ['storage-full', 'error'],
    ['incompatible-parameters', 'error'],
    ['inaccessible-encryption-credentials', 'error'],
  ])('%s is %s', (state, cls) => {
    expect(classifyDatabaseState(state)).toBe(cls);
  });
});

describe('RDS gateway', () => {
  it('reports a missing instance as not existing', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'nope', $metadata: {} }));
    expect(await gw.describe(instance)).toEqual({
      kind: 'instance',
      identifier: 'alpha-dev-rds',
      exists: false,
      state: null,
    });
  });

  it('makes throttling retryable and keeps other errors terminal', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(
      new RDSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: {},
        message: 'slow down',
      }),
    );
    await expect(gw.describe(instance)).rejects.toMatchObject({ name: 'TransientAwsError' });
    rds.on(StopDBInstanceCommand).rejects(
      new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        $metadata: {},
        message: 'read replica',
      }),
    );
    await expect(gw.stop(instance)).rejects.toMatchObject({ name: 'DatabaseActionFailed' });
  });
});

describe('converging the database', () => {
  it('stops an available instance', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(status('available'));
    rds.on(StopDBInstanceCommand).resolves({});
    expect(await convergeDatabase(gw, instance, 'stopped')).toMatchObject({ issued: 'stop' });
    expect(rds.commandCalls(StopDBInstanceCommand)).toHaveLength(1);
  });

  it('does nothing when already there, and nothing while in progress', async () => {
    rds.on(DescribeDBInstancesCommand).resolvesOnce(status('stopped')).resolves(status('stopping'));
    expect(await convergeDatabase(gw, instance, 'stopped')).toMatchObject({
      issued: null,
      state: { state: 'stopped' },
    });
    expect(await convergeDatabase(gw, instance, 'stopped')).toMatchObject({
      issued: null,
      state: { state: 'stopping' },
    });
    expect(rds.commandCalls(StopDBInstanceCommand)).toHaveLength(0);
  });

  it('waits for a database that restarted itself after 7 days instead of failing its stop', async () => {
    rds.on(DescribeDBInstancesCommand).resolvesOnce(status('starting')).resolves(status('available'));
    rds.on(StopDBInstanceCommand).resolves({});
    expect(await convergeDatabase(gw, instance, 'stopped')).toMatchObject({ issued: null });
    expect(await convergeDatabase(gw, instance, 'stopped')).toMatchObject({ issued: 'stop' });
  });

  it('treats a state change racing the stop as "not yet", not as an error', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(status('available'));
    rds
      .on(StopDBInstanceCommand)
      .rejects(new InvalidDBInstanceStateFault({ message: 'is not available', $metadata: {} }));
    expect(await convergeDatabase(gw, instance, 'stopped')).toMatchObject({ issued: null });
  });

  it('fails with the error state by name, and on a missing database', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .resolvesOnce(status('storage-full'))
      .rejects(new DBInstanceNotFoundFault({ message: 'x', $metadata: {} }));
    await expect(convergeDatabase(gw, instance, 'available')).rejects.toMatchObject({
      name: 'DatabaseErrorState',
      message: expect.stringContaining("'storage-full'"),
    });
    await expect(convergeDatabase(gw, instance, 'available')).rejects.toMatchObject({
      name: 'DatabaseNotFound',
    });
  });

  it('starts an Aurora cluster as a cluster', async () => {
    rds
      .on(DescribeDBClustersCommand)
      .resolves({ DBClusters: [{ DBClusterIdentifier: 'beta-staging-aurora', Status: 'stopped' }] });
    rds.on(StartDBClusterCommand).resolves({});
    expect(await convergeDatabase(gw, cluster, 'available')).toMatchObject({ issued: 'start' });
    expect(rds.commandCalls(StartDBClusterCommand)[0]?.args[0].input).toEqual({
      DBClusterIdentifier: 'beta-staging-aurora',
    });
  });
});
