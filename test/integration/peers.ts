// Helpers for the integration tier: real clients against the sandbox, and the workflow run
// with the real handlers on the local engine (the synthesized definition, real waits).

import { connect, createServer, type Socket } from 'node:net';
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { runLocal } from '#cli/engine/local-environment';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { loadConfigFile } from '#core/config/file';
import { makeDeps } from '#core/wiring';
import { waitFor } from '../../sandbox/sandbox.ts';
import { synthesizedDefinition } from '../support/synthesized.ts';
import { cimRun, spawnCim } from './property-cycle.ts';

export const sandbox = inject('sandbox');
Object.assign(process.env, {
  AWS_ENDPOINT_URL: sandbox.awsEndpoint,
  AWS_ACCESS_KEY_ID: 'sandbox',
  AWS_SECRET_ACCESS_KEY: 'sandbox',
  AWS_REGION: 'us-east-1',
});

const aws = {
  region: 'us-east-1',
  endpoint: sandbox.awsEndpoint,
  credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
};
export const s3 = new S3Client({ ...aws, forcePathStyle: true });
export const rds = new RDSClient(aws);
const admin = new KubeConfig();
admin.loadFromFile(sandbox.adminKubeconfig);
export const apps = admin.makeApiClient(AppsV1Api);
export const core = admin.makeApiClient(CoreV1Api);
const orchestrator = new KubeConfig();
orchestrator.loadFromFile(sandbox.orchestratorKubeconfig);
export const orchestratorApps = orchestrator.makeApiClient(AppsV1Api);

const config = loadConfigFile(sandbox.configFile);
let definition: Record<string, unknown> | undefined;

export async function run(input: Record<string, unknown>) {
  definition ??= synthesizedDefinition();
  const deps = makeDeps({
    config,
    configSource: sandbox.configFile,
    kube: kubeconfigKube(config, sandbox.orchestratorKubeconfig),
    log: { info: () => undefined, warn: () => undefined },
  });
  return runLocal({
    deps,
    definition,
    input: { customer: 'alpha', environment: 'dev', user: 'jenkins-user', ...input },
  });
}

export const replicas = async (namespace: string, name: string) =>
  (await apps.readNamespacedDeployment({ namespace, name })).spec?.replicas;

/** Pods of a deployment (app label) that exist and are Ready. */
export async function pods(namespace: string, app: string) {
  const list = await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
  return {
    total: list.items.length,
    ready: live.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .length,
  };
}

export async function waitForPods(namespace: string, app: string, want: { total?: number; ready?: number }) {
  await waitFor(
    `${namespace}/${app} pods ${JSON.stringify(want)}`,
    async () => {
      const p = await pods(namespace, app);
      return (
        (want.total === undefined || p.total === want.total) &&
        (want.ready === undefined || p.ready === want.ready)
      );
    },
    60_000,
  );
}

export async function dbInstanceState(id: string) {
  return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0]
    ?.DBInstanceStatus;
}
export async function dbClusterState(id: string) {
  return (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0]?.Status;
}
export const stopInstance = (id: string) => rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: id }));

export async function keys(prefix = '') {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: sandbox.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}
/** The records under a prefix, without the report's index rows (each run adds one: see indexKeys). */
export async function recordKeys(prefix = '') {
  return (await keys(prefix)).filter((k) => !k.includes('/index/'));
}
/** The report's index rows under an environment's prefix, as `{build}-{action}` (one per run past Prepare). */
export async function indexRuns(prefix: string) {
  return (await keys(`${prefix}/index/`))
    .map((k) => k.replace(/^.*\/index\/\d{4}-\d{2}-\d{2}\//, '').replace(/\.json$/, ''))
    .sort();
}
export async function etags(prefix = '') {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: sandbox.bucket, Prefix: prefix }));
  return Object.fromEntries((out.Contents ?? []).map((o) => [o.Key as string, o.ETag as string]));
}
export async function json(key: string): Promise<any> {
  const out = await s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }));
  return JSON.parse((await out.Body?.transformToString()) ?? 'null');
}
export async function exists(key: string) {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: sandbox.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}
export const put = (key: string, value: unknown) =>
  s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: key, Body: JSON.stringify(value, null, 2) }));

/** `cim ...` as a CI job runs it (bin/cim.mjs, the sandbox's exports plus `env`), to the end. */
export const cim = (args: string[], env: Record<string, string> = {}) => cimRun(sandbox, args, env);
/** `cim ...` started in the background: the child, its stdout lines and its exit. */
export const cimProcess = (args: string[], env: Record<string, string> = {}) => spawnCim(sandbox, args, env);

/** Every version and delete marker under a prefix of the (versioned) bucket. */
export async function versions(prefix: string) {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: sandbox.bucket, Prefix: prefix }));
  return [
    ...(out.Versions ?? []).map((v) => ({ key: v.Key as string, deleteMarker: false })),
    ...(out.DeleteMarkers ?? []).map((v) => ({ key: v.Key as string, deleteMarker: true })),
  ];
}

/** Waits until each named deployment's spec.replicas is `n` (what a scale call changed). */
export async function waitForReplicas(namespace: string, names: string[], n: number, timeoutMs = 60_000) {
  await waitFor(
    `${namespace} ${names.join(', ')} at ${n} replicas`,
    async () => {
      for (const name of names) if ((await replicas(namespace, name)) !== n) return false;
      return true;
    },
    timeoutMs,
    50,
  );
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (http://host:port), forwarding both ways.
 * stop() closes the listener and destroys every open connection (the peer "goes away");
 * start() listens again on the same port.
 */
export async function tcpProxy(target: string) {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server = createServer((client) => {
    const upstream = connect(Number(targetPort), hostname);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<number>((res, rej) => {
      server.once('error', rej);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', rej);
        res((server.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  let listening = true;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Connections forwarded right now. */
    get open() {
      return sockets.size;
    },
    async stop() {
      if (!listening) return;
      listening = false;
      const closed = new Promise<void>((res) => server.close(() => res()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    async start() {
      if (listening) return;
      await listen(port);
      listening = true;
    },
  };
}
