// A test world for unit and workflow tests: the real core and handlers with S3 and RDS
// behind aws-sdk-client-mock (an in-memory bucket with conditional writes; RDS states
// scripted per describe call), an in-memory Kubernetes, scripted health answers and a
// virtual clock that Wait states advance.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeNodegroupCommand,
  EKSClient,
  EKSServiceException,
  UpdateNodegroupConfigCommand,
} from '@aws-sdk/client-eks';
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  StartDBClusterCommand,
  StartDBInstanceCommand,
  StopDBClusterCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { EksNodegroupGateway } from '#core/clients/eks-nodegroups';
import { RdsDatabaseGateway } from '#core/clients/rds';
import { S3StateStore } from '#core/clients/s3-store';
import { loadConfigFile } from '#core/config/file';
import type { Deps } from '#core/contracts';
import type { HealthChecker } from '#core/gateways/health';
import type { NodegroupScaling } from '#core/gateways/nodegroups';
import { FakeKube } from './fake-kube.ts';
import { memoryBucket } from './memory-s3.ts';

export const fixturesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const fixture = (name: string) => resolve(fixturesDir, name);
export const fixtureJson = (name: string) =>
  JSON.parse(readFileSync(fixture(name), 'utf8')) as Record<string, unknown>;

/** alpha/dev as the legacy tool left it after its down of build 10 (actions.json and the restore point). */
export function seedLegacyDown(w: { bucket: { put(key: string, value: unknown): void } }): void {
  const P = 'eks-dev-cluster/alpha/dev';
  w.bucket.put(`${P}/actions.json`, fixtureJson('legacy-actions-build-10.json'));
  w.bucket.put(`${P}/history/10/pre-state.json`, fixtureJson('legacy-pre-state-build-10.json'));
}

export interface WorldOptions {
  /** Database state per describe call; the last one repeats. Start/stop move it unless scripted. */
  dbStates?: string[];
  readsUntilReady?: number;
  /** Fleet tests: each database has its own state (default available) instead of one shared script. */
  perDatabase?: boolean;
}

export function makeWorld(o: WorldOptions = {}) {
  const config = loadConfigFile(fixture('environments.yaml'));
  const bucket = memoryBucket();
  const rds = mockClient(RDSClient);
  const script: string[] = [...(o.dbStates ?? [])];
  // Once scripted, start/stop no longer move the state: the script says what RDS reports.
  let scripted = Boolean(o.dbStates);
  let dbState = script.shift() ?? 'available';
  const calls: string[] = [];
  const perDb = new Map<string, string>();
  const describe = (id?: string) => {
    alive();
    if (o.perDatabase) return perDb.get(id ?? '') ?? 'available';
    const s = dbState;
    if (script.length) dbState = script.shift() as string;
    return s;
  };
  /** Called after every change any peer makes (S3 write, scale, start/stop); fault tests throw from it. */
  const faults: { onMutation?: (what: string) => void; dead?: boolean } = {};
  /** While `dead`, every peer refuses: the code of a killed process must not act any more. */
  const alive = () => {
    if (faults.dead) throw new Error('this process was killed (simulated)');
  };
  const act =
    (name: string, to: string) => (i: { DBInstanceIdentifier?: string; DBClusterIdentifier?: string }) => {
      alive();
      calls.push(name);
      if (o.perDatabase) perDb.set(i.DBInstanceIdentifier ?? i.DBClusterIdentifier ?? '', to);
      else if (!scripted) dbState = to;
      faults.onMutation?.(`rds:${name}`);
      return {};
    };
  // What the bill depends on (issue 18): an instance's own facts; a cluster of two members,
  // whose classes only a DescribeDBInstances filtered by the cluster says (no status read).
  rds.on(DescribeDBInstancesCommand).callsFake((i) => {
    const cluster = i.Filters?.find((f: { Name?: string }) => f.Name === 'db-cluster-id')?.Values?.[0];
    if (cluster) {
      alive();
      return {
        DBInstances: [
          {
            DBInstanceIdentifier: `${cluster}-1`,
            DBInstanceClass: 'db.r6g.large',
            DBClusterIdentifier: cluster,
          },
          {
            DBInstanceIdentifier: `${cluster}-2`,
            DBInstanceClass: 'db.r6g.xlarge',
            DBClusterIdentifier: cluster,
          },
        ],
      };
    }
    return {
      DBInstances: [
        {
          DBInstanceIdentifier: i.DBInstanceIdentifier,
          DBInstanceStatus: describe(i.DBInstanceIdentifier),
          Engine: 'postgres',
          DBInstanceClass: 'db.t3.medium',
          MultiAZ: true,
          AllocatedStorage: 100,
          StorageType: 'io1',
          Iops: 1000,
        },
      ],
    };
  });
  rds.on(DescribeDBClustersCommand).callsFake((i) => ({
    DBClusters: [
      {
        DBClusterIdentifier: i.DBClusterIdentifier,
        Status: describe(i.DBClusterIdentifier),
        Engine: 'aurora-postgresql',
        MultiAZ: true,
        AllocatedStorage: 1,
        StorageType: 'aurora',
        DBClusterMembers: [
          { DBInstanceIdentifier: `${i.DBClusterIdentifier}-1`, IsClusterWriter: true },
          { DBInstanceIdentifier: `${i.DBClusterIdentifier}-2`, IsClusterWriter: false },
        ],
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      },
    ],
  }));
  rds.on(StopDBInstanceCommand).callsFake(act('StopDBInstance', 'stopped'));
  rds.on(StartDBInstanceCommand).callsFake(act('StartDBInstance', 'available'));
  rds.on(StopDBClusterCommand).callsFake(act('StopDBCluster', 'stopped'));
  rds.on(StartDBClusterCommand).callsFake(act('StartDBCluster', 'available'));

  bucket.hooks.afterWrite = (op, key) => faults.onMutation?.(`s3:${op}:${key}`);
  bucket.hooks.beforeCall = alive;
  const kube = new FakeKube(
    o.readsUntilReady ?? 0,
    (ns, name) => faults.onMutation?.(`kube:scale:${ns}/${name}`),
    alive,
  )
    .add('alpha-dev', 'frontend-deployment', 1)
    .add('alpha-dev', 'backend-deployment', 2)
    .add('beta-staging', 'frontend-deployment', 1)
    .add('beta-staging', 'backend-deployment', 1)
    .add('gamma-dev', 'frontend-deployment', 3);

  // EKS node groups by "cluster/name": an update answers UPDATING for `updatingReads` more
  // describes (then ACTIVE), and its nodes join Kubernetes Ready (`nodesReadyAfter` reads later).
  const eks = mockClient(EKSClient);
  const nodegroups = new Map<
    string,
    { status: string; scaling: NodegroupScaling; updatingReads?: number; issues?: string[] }
  >();
  const eksCalls: string[] = [];
  eks.on(DescribeNodegroupCommand).callsFake((i) => {
    alive();
    const n = nodegroups.get(`${i.clusterName}/${i.nodegroupName}`);
    if (!n)
      throw new EKSServiceException({
        name: 'ResourceNotFoundException',
        $fault: 'client',
        $metadata: {},
        message: `No node group found for name: ${i.nodegroupName}.`,
      });
    const status = n.status;
    if (n.status === 'UPDATING' && (n.updatingReads ?? 0) <= 0) n.status = 'ACTIVE';
    else if (n.status === 'UPDATING') n.updatingReads = (n.updatingReads ?? 0) - 1;
    return {
      nodegroup: {
        nodegroupName: i.nodegroupName,
        clusterName: i.clusterName,
        status,
        scalingConfig: { ...n.scaling },
        instanceTypes: ['m6i.large', 'm5.large'],
        capacityType: 'ON_DEMAND',
        health: { issues: (n.issues ?? []).map((code) => ({ code, message: code })) },
      },
    };
  });
  eks.on(UpdateNodegroupConfigCommand).callsFake((i) => {
    alive();
    const n = nodegroups.get(`${i.clusterName}/${i.nodegroupName}`);
    if (!n) throw new Error(`no node group ${i.nodegroupName}`);
    if (n.status === 'UPDATING')
      throw new EKSServiceException({
        name: 'ResourceInUseException',
        $fault: 'client',
        $metadata: {},
        message: 'an update is in progress',
      });
    eksCalls.push(`UpdateNodegroupConfig ${i.nodegroupName} ${JSON.stringify(i.scalingConfig)}`);
    n.scaling = { ...n.scaling, ...i.scalingConfig } as NodegroupScaling;
    if ((n.updatingReads ?? 0) > 0) n.status = 'UPDATING';
    kube.setNodes(i.nodegroupName ?? '', n.scaling.desiredSize);
    faults.onMutation?.(`eks:UpdateNodegroupConfig:${i.nodegroupName}`);
    return {};
  });

  const unhealthy = new Set<string>();
  const health: HealthChecker = {
    async check(url) {
      return unhealthy.has(url)
        ? { url, status: 'down', httpStatus: 503 }
        : { url, status: 'up', httpStatus: 200 };
    },
  };

  let now = Date.parse('2026-11-26T20:00:00Z');
  const clock = { now: () => new Date(now), advance: (seconds: number) => (now += seconds * 1000) };
  const warnings: string[] = [];
  const deps: Deps = {
    config,
    configSource: 'test/fixtures/environments.yaml',
    store: (env) => new S3StateStore(new S3Client({ region: env.bucketRegion }), env.bucket),
    db: (env) => new RdsDatabaseGateway(new RDSClient({ region: env.region })),
    nodegroups: (env) => new EksNodegroupGateway(new EKSClient({ region: env.region })),
    kube: () => kube,
    health,
    now: clock.now,
    log: { info: () => undefined, warn: (m) => warnings.push(m) },
  };
  return {
    config,
    deps,
    bucket,
    rds,
    rdsCalls: calls,
    faults,
    dbState: () => dbState,
    /** perDatabase worlds: the state of one database, and setting it. */
    dbStateOf: (id: string) => perDb.get(id) ?? 'available',
    setDbStateOf: (id: string, state: string) => perDb.set(id, state),
    setDbState: (s: string) => {
      scripted = false;
      dbState = s;
    },
    /** From the next describe on, answer these states in order; the last one sticks. */
    scriptDb: (states: string[]) => {
      scripted = true;
      dbState = states[0] ?? dbState;
      script.splice(0, script.length, ...states.slice(1));
    },
    kube,
    eks,
    eksCalls,
    /** Adds a node group (ACTIVE) with its nodes Ready in Kubernetes. */
    addNodegroup: (cluster: string, name: string, scaling: NodegroupScaling, updatingReads = 0) => {
      nodegroups.set(`${cluster}/${name}`, { status: 'ACTIVE', scaling: { ...scaling }, updatingReads });
      kube.setNodes(name, scaling.desiredSize);
    },
    nodegroups,
    unhealthy,
    clock,
    warnings,
    restore: () => {
      bucket.mock.restore();
      rds.restore();
      eks.restore();
    },
  };
}
export type World = ReturnType<typeof makeWorld>;
