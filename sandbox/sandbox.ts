// The sandbox: real peers on 127.0.0.1, started and stopped by the project.
//   etcd 3.6 + kube-apiserver (RBAC) + kube-controller-manager + kube-scheduler + kwok
//   (a fake node whose pods become Ready), moto_server (S3, RDS, EKS, STS), and one small
//   HTTP health endpoint per application that answers 200 only while its deployment has
//   ready replicas in the API server. Certificates are generated per sandbox.
// Used by the integration tests (globalSetup), the demo and `npm run sandbox`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1ClusterRoleBinding,
  type V1RoleBinding,
} from '@kubernetes/client-node';
import { namespaceRbac, WRITERS_GROUP } from '#core/config/rbac';
import { NODE_READERS_GROUP } from '#core/nodegroups/rules';
import {
  resetWholeEnvironment,
  seedWholeEnvironment,
  seedWholeEnvironmentAws,
  wholeEnvironmentConfig,
  wholeEnvironmentReady,
} from './whole-environment.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface SandboxInfo {
  dir: string;
  bin: string;
  apiServer: string;
  adminKubeconfig: string;
  orchestratorKubeconfig: string;
  awsEndpoint: string;
  healthBase: string;
  configFile: string;
  bucket: string;
  cluster: string;
  /** The generated fleet environments (label tier=fleet): fleet001/dev, fleet002/dev, ... */
  fleetKeys: string[];
}

export interface Sandbox {
  info: SandboxInfo;
  env: Record<string, string>;
  stop(): Promise<void>;
}

const log = (msg: string) => process.stderr.write(`[sandbox] ${msg}\n`);

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Polls `probe` until it returns true or the deadline passes; says what it was waiting for. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

export function buildPeers(): string {
  log(
    'checking peers (first build compiles Kubernetes from the Go module proxy; later starts reuse the cache)',
  );
  const out = execFileSync('bash', [join(here, 'build-peers.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return out.toString().trim().split('\n').pop() as string;
}

function openssl(dir: string, args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCerts(dir: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=cim-sandbox-ca',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,IP:10.0.0.1\n',
  );
  const issue = (name: string, subj: string, ext?: string) => {
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      ...(ext ? ['-extfile', ext] : []),
    ]);
  };
  issue('apiserver', '/CN=kube-apiserver', 'server.ext');
  issue('admin', '/O=system:masters/CN=sandbox-admin');
  // The orchestrator is in the Kubernetes groups the stack's access entries name, so the
  // sandbox grants it exactly what `cim rbac` grants them (lambdas/core/config/rbac.ts).
  issue('orchestrator', `/O=${WRITERS_GROUP}/O=${NODE_READERS_GROUP}/CN=cim-orchestrator`);
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function kubeconfig(dir: string, server: string, user: string): string {
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  const path = join(dir, `${user}.kubeconfig`);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sandbox', cluster: { server, 'certificate-authority-data': b64('ca.crt') } }],
      users: [
        {
          name: user,
          user: { 'client-certificate-data': b64(`${user}.crt`), 'client-key-data': b64(`${user}.key`) },
        },
      ],
      contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user } }],
      'current-context': 'sandbox',
    }),
  );
  return path;
}

/** The other account of the sandbox (moto keeps each account's resources apart). */
export const TARGET_ACCOUNT = '444455556666';

/** The environments the sandbox holds: the legacy README's alpha/dev and the test cases. */
export const SANDBOX_ENVIRONMENTS = {
  'alpha/dev': {
    namespace: 'alpha-dev',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 2 },
    db: 'instance',
  },
  'beta/staging': {
    namespace: 'beta-staging',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 1 },
    db: 'cluster',
  },
  'gamma/dev': { namespace: 'gamma-dev', deployments: { 'frontend-deployment': 2 }, db: 'instance' },
  'delta/dev': {
    namespace: 'delta-dev',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 1 },
    db: 'instance',
  },
  // Dedicated to test/integration/trust-real-peers.test.ts: one environment per scenario.
  'trust/kill': {
    namespace: 'trust-kill',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 2 },
    db: 'instance',
  },
  'trust/term': {
    namespace: 'trust-term',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 2 },
    db: 'instance',
  },
  'trust/s3': {
    namespace: 'trust-s3',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 2 },
    db: 'instance',
  },
  'trust/twin': {
    namespace: 'trust-twin',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 2 },
    db: 'instance',
  },
  'trust/watch': {
    namespace: 'trust-watch',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 2 },
    db: 'instance',
  },
  // Dedicated to the randomized property test (test/integration/property-cycle.ts).
  'prop/dev': {
    namespace: 'prop-dev',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 2, 'worker-deployment': 1 },
    db: 'instance',
  },
  // Its database lives in another (moto) account: the runs assume the target role there.
  'xacct/dev': {
    namespace: 'xacct-dev',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 2 },
    db: 'instance',
    account: TARGET_ACCOUNT,
  },
  // StatefulSets and CronJobs too: see whole-environment.ts
  'omega/dev': {
    namespace: 'omega-dev',
    deployments: { 'frontend-deployment': 1, 'backend-deployment': 1 },
    db: 'instance',
  },
} as const;

type SandboxEnvironment = {
  namespace: string;
  deployments: Readonly<Record<string, number>>;
  db: 'instance' | 'cluster';
  /** Set when the database lives in another account (reached by assuming the target role). */
  account?: string;
};

/** `n` look-alike environments for fleet tests and benchmarks: two deployments each, an RDS instance each. */
export function fleetEnvironments(n: number): Record<string, SandboxEnvironment> {
  const out: Record<string, SandboxEnvironment> = {};
  for (let i = 1; i <= n; i++) {
    const customer = `fleet${String(i).padStart(3, '0')}`;
    out[`${customer}/dev`] = {
      namespace: `${customer}-dev`,
      deployments: { 'frontend-deployment': 1, 'backend-deployment': 1 + (i % 2) },
      db: 'instance',
    };
  }
  return out;
}

function environmentsOf(fleetKeys: readonly string[]): Record<string, SandboxEnvironment> {
  return { ...SANDBOX_ENVIRONMENTS, ...fleetEnvironments(fleetKeys.length) };
}

function sandboxConfig(
  healthBase: string,
  bucket: string,
  cluster: string,
  fleetKeys: readonly string[] = [],
): string {
  const health = (name: string) => `${healthBase}/{namespace}/${name}/healthz`;
  return `# Generated by sandbox/sandbox.ts for one sandbox (ports are per run).
defaults:
  cluster: ${cluster}
  region: us-east-1
  bucket: ${bucket}
  deployments:
    - name: frontend-deployment
      healthUrl: "${health('frontend-deployment')}"
    - name: backend-deployment
      healthUrl: "${health('backend-deployment')}"
  waits:
    databaseStart: { expectedSeconds: 5, timeoutSeconds: 120 }
    databaseStop: { expectedSeconds: 5, timeoutSeconds: 120 }
    deployments: { expectedSeconds: 10, timeoutSeconds: 180 }
    health: { expectedSeconds: 5, timeoutSeconds: 120 }
  lockTtlSeconds: 900
  healthTimeoutSeconds: 2
environments:
  alpha/dev: {}
  beta/staging:
    database: { kind: cluster, identifier: beta-staging-aurora }
  # names a deployment that does not exist
  gamma/dev:
    deployments:
      - name: frontend-deployment
        healthUrl: "${health('frontend-deployment')}"
      - name: ghost-deployment
  # the orchestrator has no rights in this namespace
  delta/dev: {}
  # trust-real-peers.test.ts: killed, interrupted, S3 cut off, twin builds, watched by status
  trust/kill: {}
  trust/term: {}
  trust/s3: {}
  trust/twin: {}
  trust/watch: {}
  # target-account-real-peers.test.ts: the database is in account ${TARGET_ACCOUNT}
  xacct/dev: { account: "${TARGET_ACCOUNT}" }
  # property test: three deployments, one without a health URL
  prop/dev:
    deployments:
      - name: frontend-deployment
        healthUrl: "${health('frontend-deployment')}"
      - name: backend-deployment
        healthUrl: "${health('backend-deployment')}"
      - name: worker-deployment
${wholeEnvironmentConfig()}${fleetKeys.length ? '  # fleets: cim --select tier=fleet\n' : ''}${fleetKeys.map((k) => `  ${k}: { labels: { tier: fleet } }\n`).join('')}`;
}

/** A fake node (kwok runs its pods): Ready through kwok's stages, 110 pods. */
async function createKwokNode(core: CoreV1Api, name: string) {
  await core.createNode({
    body: {
      metadata: {
        name,
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
      },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
        capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      },
    },
  });
}

async function seedKubernetes(admin: KubeConfig, environments: Record<string, SandboxEnvironment>) {
  const core = admin.makeApiClient(CoreV1Api);
  const apps = admin.makeApiClient(AppsV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  // One kwok node holds 110 pods: as many nodes as the seeded pods need (with room to spare).
  const pods = Object.values(environments).reduce(
    (n, e) => n + Object.values(e.deployments).reduce((a, b) => a + b, 0),
    0,
  );
  for (let node = 1; node < Math.ceil((pods * 1.5) / 100); node++)
    await createKwokNode(core, `kwok-node-${node}`);
  await createKwokNode(core, 'kwok-node-0');
  for (const [, e] of Object.entries(environments)) {
    await core.createNamespace({ body: { metadata: { name: e.namespace } } });
    for (const [name, replicas] of Object.entries(e.deployments)) {
      const labels = { app: name };
      await apps.createNamespacedDeployment({
        namespace: e.namespace,
        body: {
          metadata: { name, labels },
          spec: {
            replicas,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                nodeSelector: { type: 'kwok' },
                containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
              },
            },
          },
        },
      });
    }
    if (e.namespace === 'delta-dev') continue; // RBAC case: no rights here
    // What `cim rbac` prints for the namespace: the minimal Roles bound to the stack's groups.
    await applyRbac(rbac, namespaceRbac(e.namespace));
  }
  await seedWholeEnvironment(admin);
}

/** Creates RBAC manifests as `kubectl apply` would (Roles, RoleBindings and their cluster kinds). */
export async function applyRbac(
  rbac: RbacAuthorizationV1Api,
  manifests: Record<string, any>[],
): Promise<void> {
  for (const m of manifests) {
    const namespace = m.metadata?.namespace as string;
    if (m.kind === 'Role') await rbac.createNamespacedRole({ namespace, body: m });
    else if (m.kind === 'RoleBinding')
      await rbac.createNamespacedRoleBinding({ namespace, body: m as V1RoleBinding });
    else if (m.kind === 'ClusterRole') await rbac.createClusterRole({ body: m });
    else if (m.kind === 'ClusterRoleBinding')
      await rbac.createClusterRoleBinding({ body: m as V1ClusterRoleBinding });
    else throw new Error(`applyRbac: unexpected kind ${m.kind}`);
  }
}

/** Answers 200 on /{namespace}/{deployment}/healthz while the deployment has ready replicas. */
function startHealthServer(admin: KubeConfig, port: number): Promise<Server> {
  const apps = admin.makeApiClient(AppsV1Api);
  const server = createServer(async (req, res) => {
    const m = /^\/([a-z0-9-]+)\/([a-z0-9-]+)\/healthz$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end('not found\n');
      return;
    }
    try {
      const d = await apps.readNamespacedDeployment({ namespace: m[1] as string, name: m[2] as string });
      const ready = d.status?.readyReplicas ?? 0;
      res.writeHead(ready > 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(`${ready} ready\n`);
    } catch {
      res.writeHead(503).end('unknown deployment\n');
    }
  });
  return new Promise((r) => server.listen(port, '127.0.0.1', () => r(server)));
}

async function seedAws(endpoint: string, bucket: string, environments: Record<string, SandboxEnvironment>) {
  const { S3Client, CreateBucketCommand, PutBucketVersioningCommand } = await import('@aws-sdk/client-s3');
  const { RDSClient, CreateDBInstanceCommand, CreateDBClusterCommand } = await import('@aws-sdk/client-rds');
  const { EKSClient, CreateClusterCommand } = await import('@aws-sdk/client-eks');
  const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  const cfg = {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = new S3Client({ ...cfg, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  const central = new RDSClient(cfg);
  const inAccount = new Map<string, InstanceType<typeof RDSClient>>();
  const rdsFor = async (account: string | undefined) => {
    if (!account) return central;
    let client = inAccount.get(account);
    if (!client) {
      // As the functions do: assume the target role there (moto files what the session
      // creates under that account, invisible to the central one).
      const out = await new STSClient(cfg).send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${account}:role/customer-infra-manager-target`,
          RoleSessionName: 'cim-sandbox-seed',
          ExternalId: 'customer-infra-manager',
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
        throw new Error('moto AssumeRole: no credentials');
      client = new RDSClient({
        ...cfg,
        credentials: {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
        },
      });
      inAccount.set(account, client);
    }
    return client;
  };
  for (const [key, e] of Object.entries(environments)) {
    const rds = await rdsFor(e.account);
    const id = `${key.replace('/', '-')}${e.db === 'cluster' ? '-aurora' : '-rds'}`;
    if (e.db === 'cluster') {
      await rds.send(
        new CreateDBClusterCommand({
          DBClusterIdentifier: id,
          Engine: 'aurora-postgresql',
          MasterUsername: 'app',
          MasterUserPassword: 'sandbox-only-1',
        }),
      );
    } else {
      await rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: id,
          Engine: 'postgres',
          DBInstanceClass: 'db.t3.micro',
          AllocatedStorage: 20,
          MasterUsername: 'app',
          MasterUserPassword: 'sandbox-only-1',
        }),
      );
    }
  }
  const eks = new EKSClient(cfg);
  await eks.send(
    new CreateClusterCommand({
      name: 'eks-dev-cluster',
      roleArn: 'arn:aws:iam::123456789012:role/eks',
      resourcesVpcConfig: { subnetIds: [] },
    }),
  );
  await seedWholeEnvironmentAws(eks, 'eks-dev-cluster');
}

/** Back to the seeded state: moto emptied and re-seeded, deployments at their seeded counts and available. */
export async function resetSandbox(info: SandboxInfo): Promise<void> {
  const res = await fetch(`${info.awsEndpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset answered ${res.status}`);
  const environments = environmentsOf(info.fleetKeys);
  await seedAws(info.awsEndpoint, info.bucket, environments);
  const admin = new KubeConfig();
  admin.loadFromFile(info.adminKubeconfig);
  const apps = admin.makeApiClient(AppsV1Api);
  for (const e of Object.values(environments)) {
    for (const [name, replicas] of Object.entries(e.deployments)) {
      await apps.patchNamespacedDeploymentScale({
        name,
        namespace: e.namespace,
        body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
      });
    }
  }
  await resetWholeEnvironment(admin);
  await waitFor(
    'deployments back at their seeded counts',
    async () => {
      for (const e of Object.values(environments)) {
        for (const [name, replicas] of Object.entries(e.deployments)) {
          const d = await apps.readNamespacedDeployment({ name, namespace: e.namespace });
          if ((d.status?.availableReplicas ?? 0) !== replicas || (d.status?.replicas ?? 0) !== replicas)
            return false;
        }
      }
      return wholeEnvironmentReady(admin);
    },
    90_000,
  );
}

export async function startSandbox(opts: { quiet?: boolean; fleet?: number } = {}): Promise<Sandbox> {
  const t0 = Date.now();
  const fleetKeys = Object.keys(fleetEnvironments(opts.fleet ?? 0));
  const environments = environmentsOf(fleetKeys);
  const bin = buildPeers();
  const dir = mkdtempSync(join(tmpdir(), 'cim-sandbox-'));
  const procs: ChildProcess[] = [];
  let health: Server | undefined;
  const stop = async () => {
    health?.close();
    for (const p of procs.reverse()) p.kill('SIGTERM');
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.exitCode !== null || p.signalCode !== null) return r();
            const t = setTimeout(() => {
              p.kill('SIGKILL');
              r();
            }, 5000);
            p.once('exit', () => {
              clearTimeout(t);
              r();
            });
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const start = (name: string, cmd: string, args: string[]) => {
    const out = openSync(join(dir, `${name}.log`), 'a');
    const p = spawn(cmd, args, { cwd: dir, stdio: ['ignore', out, out] });
    p.once('exit', (code, sig) => {
      if (!stopping) log(`${name} exited (${code ?? sig}); its log: ${join(dir, `${name}.log`)}`);
    });
    procs.push(p);
    return p;
  };
  let stopping = false;
  try {
    makeCerts(dir);
    const [etcdPort, etcdPeer, apiPort, motoPort, healthPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    mkdirSync(join(dir, 'etcd'));
    start('etcd', join(bin, 'etcd'), [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync',
    ]);
    // moto's own server with S3's writes serialized (conditional writes atomic, as on S3):
    // run by the Python of moto's virtual environment, where bin/moto_server points.
    start('moto', join(dirname(realpathSync(join(bin, 'moto_server'))), 'python'), [
      join(here, 'moto-serialized.py'),
      '-H',
      '127.0.0.1',
      '-p',
      String(motoPort),
    ]);
    await waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok);
    const server = `https://127.0.0.1:${apiPort}`;
    start('kube-apiserver', join(bin, 'kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
    ]);
    const adminKubeconfig = kubeconfig(dir, server, 'admin');
    const orchestratorKubeconfig = kubeconfig(dir, server, 'orchestrator');
    const admin = new KubeConfig();
    admin.loadFromFile(adminKubeconfig);
    const core = admin.makeApiClient(CoreV1Api);
    await waitFor(
      'kube-apiserver to be ready',
      async () => {
        await core.listNamespace();
        return true;
      },
      90_000,
    );
    start('kube-controller-manager', join(bin, 'kube-controller-manager'), [
      `--kubeconfig=${adminKubeconfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--controllers=*,-nodeipam,-serviceaccount-token,-cloud-node-lifecycle',
      `--service-account-private-key-file=${join(dir, 'sa.key')}`,
      `--root-ca-file=${join(dir, 'ca.crt')}`,
    ]);
    start('kube-scheduler', join(bin, 'kube-scheduler'), [
      `--kubeconfig=${adminKubeconfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
    ]);
    start('kwok', join(bin, 'kwok'), [
      `--kubeconfig=${adminKubeconfig}`,
      `--config=${join(dirname(bin), 'kwok-stages.yaml')}`,
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--node-ip=127.0.0.1',
      '--cidr=10.0.1.0/24',
      '--server-address=127.0.0.1:0',
    ]);
    await waitFor(
      'moto_server',
      async () => (await fetch(`http://127.0.0.1:${motoPort}/moto-api/`)).ok,
      60_000,
    );
    const bucket = 'customer-infra-manager';
    const cluster = 'eks-dev-cluster';
    await seedAws(`http://127.0.0.1:${motoPort}`, bucket, environments);
    await seedKubernetes(admin, environments);
    const apps = admin.makeApiClient(AppsV1Api);
    await waitFor(
      'the seeded deployments to be available on the kwok nodes',
      async () => {
        for (const e of Object.values(environments)) {
          const list = await apps.listNamespacedDeployment({ namespace: e.namespace });
          if (list.items.some((d) => (d.status?.availableReplicas ?? 0) < (d.spec?.replicas ?? 0)))
            return false;
        }
        return true;
      },
      90_000,
    );
    health = await startHealthServer(admin, healthPort);
    const healthBase = `http://127.0.0.1:${healthPort}`;
    const configFile = join(dir, 'environments.yaml');
    writeFileSync(configFile, sandboxConfig(healthBase, bucket, cluster, fleetKeys));
    const info: SandboxInfo = {
      dir,
      bin,
      apiServer: server,
      adminKubeconfig,
      orchestratorKubeconfig,
      awsEndpoint: `http://127.0.0.1:${motoPort}`,
      healthBase,
      configFile,
      bucket,
      cluster,
      fleetKeys,
    };
    writeFileSync(join(dir, 'sandbox.json'), JSON.stringify(info, null, 2));
    if (!opts.quiet) log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${dir})`);
    const env = {
      KUBECONFIG: orchestratorKubeconfig,
      CIM_CONFIG_FILE: configFile,
      AWS_ENDPOINT_URL: info.awsEndpoint,
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      AWS_REGION: 'us-east-1',
    };
    return {
      info,
      env,
      stop: async () => {
        stopping = true;
        await stop();
      },
    };
  } catch (err) {
    stopping = true;
    const logs = ['kube-apiserver', 'etcd', 'kwok', 'moto']
      .map((n) => {
        try {
          return `--- ${n}.log (tail)\n${readFileSync(join(dir, `${n}.log`), 'utf8')
            .split('\n')
            .slice(-15)
            .join('\n')}`;
        } catch {
          return '';
        }
      })
      .join('\n');
    if (process.env.CIM_SANDBOX_KEEP_ON_FAILURE !== '1') await stop();
    throw new Error(`sandbox did not start: ${(err as Error).message}\n${logs}`);
  }
}

// `tsx sandbox/sandbox.ts` (npm run sandbox): start, print how to use it, stay up until Ctrl-C.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const sb = await startSandbox();
  const exports = Object.entries(sb.env)
    .map(([k, v]) => `export ${k}=${v}`)
    .join('\n');
  process.stdout.write(
    `\nSandbox running. In another shell:\n\n${exports}\nnpx cim status --customer alpha --env dev\nnpx cim down --customer alpha --env dev\n\nCtrl-C stops it and removes ${sb.info.dir}.\n`,
  );
  const bye = async () => {
    await sb.stop();
    process.exit(0);
  };
  process.on('SIGINT', bye);
  process.on('SIGTERM', bye);
}
