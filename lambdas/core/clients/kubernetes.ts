// Owns Kubernetes access with @kubernetes/client-node: reading a deployment, scaling it
// through the scale subresource, and building an API client from a kubeconfig or from
// EKS (DescribeCluster + a presigned STS GetCallerIdentity token).

import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { Sha256 } from '@aws-crypto/sha256-js';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Config, Environment } from '../config/schema.ts';
import { AWS_REQUEST_TIMEOUTS, CimError, ErrorNames, errorMessage } from '../errors.ts';
import type { IngressGateway, IngressObject } from '../gateways/ingresses.ts';
import {
  type DeploymentStatus,
  type KubeGateway,
  MISSING_DEPLOYMENT,
  type NodeLister,
  type NodeStatus,
} from '../gateways/kubernetes.ts';
import type { WorkloadGateway } from '../gateways/workloads.ts';
import { podRequests } from '../workloads/requests.ts';
import {
  assumeRoleCredentials,
  type CredentialsFor,
  currentExecution,
  type TemporaryCredentials,
} from './assume-role.ts';
import { ingressClient } from './kubernetes-ingresses.ts';
import { clientNodeWorkloads } from './kubernetes-workloads.ts';
import { memo } from './memo.ts';

export function deploymentStatus(d: V1Deployment): DeploymentStatus {
  const cond = d.status?.conditions?.find((c) => c.type === 'Available');
  return {
    exists: true,
    replicas: d.spec?.replicas ?? 1,
    currentReplicas: d.status?.replicas ?? 0,
    readyReplicas: d.status?.readyReplicas ?? 0,
    availableReplicas: d.status?.availableReplicas ?? 0,
    updatedReplicas: d.status?.updatedReplicas ?? 0,
    observed: (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0),
    availableCondition: cond ? { status: cond.status, reason: cond.reason ?? null } : null,
    requests: podRequests(d.spec?.template?.spec?.containers),
  };
}

/**
 * A 429 from the API server (API Priority and Fairness, or a webhook's limit) with a
 * Retry-After of at most RETRY_AFTER_MAX_SECONDS is waited for and retried in the function, up
 * to RETRY_AFTER_MAX_RETRIES times per call (at most 10 s per call, well inside the function's
 * 60 s); the request was rejected before it changed anything, so repeating it is safe. A 429
 * without Retry-After, with a longer one, or still there after the retries is a
 * KubernetesError, which the Task's Retry repeats with its jittered backoff
 * (infra/workflows/states.ts TASK_RETRIES.transient).
 */
export const RETRY_AFTER_MAX_SECONDS = 5;
export const RETRY_AFTER_MAX_RETRIES = 2;

export interface RetryAfterOptions {
  /** Waits this many milliseconds (a fake in tests). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The seconds a 429's Retry-After asks for (delta-seconds or an HTTP date), or null. */
export function retryAfterSeconds(err: unknown, now = Date.now()): number | null {
  const e = err as { code?: unknown; headers?: Record<string, unknown> } | null;
  if (e?.code !== 429 || !e.headers || typeof e.headers !== 'object') return null;
  const raw = Object.entries(e.headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const text = String(raw).trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Calls `call`, honouring a bounded Retry-After on 429 (see RETRY_AFTER_MAX_SECONDS). */
export async function honourRetryAfter<T>(call: () => Promise<T>, o: RetryAfterOptions = {}): Promise<T> {
  for (let retries = 0; ; retries++) {
    try {
      return await call();
    } catch (err) {
      const seconds = retryAfterSeconds(err, (o.now ?? Date.now)());
      if (seconds === null || seconds > RETRY_AFTER_MAX_SECONDS || retries >= RETRY_AFTER_MAX_RETRIES)
        throw err;
      await (o.sleep ?? realSleep)(seconds * 1000);
    }
  }
}

/** The API client with every method call wrapped in honourRetryAfter. */
export function withRetryAfter<T extends object>(api: T, o: RetryAfterOptions = {}): T {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function'
        ? (...args: unknown[]) => honourRetryAfter(() => value.apply(target, args), o)
        : value;
    },
  });
}

function kubeError(err: unknown, what: string): Error {
  const code = (err as { code?: unknown }).code;
  if (code === 429) {
    const after = retryAfterSeconds(err);
    return new CimError(
      ErrorNames.KubernetesError,
      `${what}: the API server is throttling (HTTP 429${after === null ? ', no Retry-After' : `, Retry-After ${after} s`}); the step is retried with backoff`,
      { cause: err },
    );
  }
  if (code === 401 || code === 403) {
    return new CimError(
      ErrorNames.KubernetesAccessDenied,
      `${what}: access denied (HTTP ${code}). Grant the orchestrator's identity get/list on deployments (statefulsets, cronjobs, horizontalpodautoscalers) and get/patch on deployments/scale (statefulsets/scale, cronjobs; ingresses with sleepingBackend) in that namespace, and get/list on nodes for nodegroups (see README "Kubernetes access").`,
      { cause: err },
    );
  }
  return new CimError(ErrorNames.KubernetesError, `${what}: ${errorMessage(err).split('\n')[0]}`, {
    cause: err,
  });
}

/** The one core/v1 call the workflow makes: nodes by label, with their Ready condition. */
export interface NodeReader {
  listNode(p: { labelSelector: string }): Promise<{
    items: { metadata?: { name?: string }; status?: { conditions?: { type: string; status: string }[] } }[];
  }>;
}

/**
 * Lists nodes with a plain GET on the API server, authenticated like the generated clients
 * (the kubeconfig's CA, client certificate or token): CoreV1Api would add ~370 KiB to every
 * Kubernetes function's bundle for this one call.
 */
export function nodeReader(kc: KubeConfig): NodeReader {
  return {
    async listNode({ labelSelector }) {
      const server = kc.getCurrentCluster()?.server;
      if (!server) throw new Error('kubeconfig has no current cluster');
      const url = new URL(`${server.replace(/\/$/, '')}/api/v1/nodes`);
      url.searchParams.set('labelSelector', labelSelector);
      const opts: RequestOptions = {
        method: 'GET',
        headers: { accept: 'application/json' },
        timeout: 20_000,
      };
      await kc.applyToHTTPSOptions(opts);
      const { status, body, headers } = await new Promise<{
        status: number;
        body: string;
        headers: Record<string, unknown>;
      }>((resolve, reject) => {
        const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, opts, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`GET ${url.pathname}: no answer within 20 s`)));
        req.on('error', reject);
        req.end();
      });
      if (status < 200 || status >= 300) {
        let message = body.slice(0, 300);
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {}
        throw new ApiException(status, `HTTP ${status}: ${message}`, body, headers as Record<string, string>);
      }
      return JSON.parse(body);
    },
  };
}

export class ClientNodeKubeGateway implements KubeGateway, WorkloadGateway, NodeLister, IngressGateway {
  private readonly workloads: WorkloadGateway;
  constructor(
    apps: () => Promise<AppsV1Api>,
    batch: () => Promise<BatchV1Api> = async () => {
      throw new CimError(ErrorNames.KubernetesError, 'this gateway has no batch/v1 client (CronJobs)');
    },
    custom: () => Promise<CustomObjectsApi> = async () => {
      throw new CimError(ErrorNames.KubernetesError, 'this gateway has no custom objects client (KEDA)');
    },
    autoscaling: () => Promise<AutoscalingV2Api> = async () => {
      throw new CimError(ErrorNames.KubernetesError, 'this gateway has no autoscaling/v2 client (HPA)');
    },
    core: () => Promise<NodeReader> = async () => {
      throw new CimError(ErrorNames.KubernetesError, 'this gateway has no core/v1 client (nodes)');
    },
    retryAfter: RetryAfterOptions = {},
    ingresses: () => Promise<IngressGateway> = async () => {
      throw new CimError(ErrorNames.KubernetesError, 'this gateway has no networking/v1 client (Ingresses)');
    },
  ) {
    // Every call of every client honours a bounded Retry-After (see RETRY_AFTER_MAX_SECONDS).
    const honouring =
      <T extends object>(client: () => Promise<T>) =>
      async () =>
        withRetryAfter(await client(), retryAfter);
    this.apps = honouring(apps);
    this.core = honouring(core);
    this.ingresses = honouring(ingresses);
    this.workloads = clientNodeWorkloads(
      this.apps,
      honouring(batch),
      kubeError,
      honouring(custom),
      honouring(autoscaling),
    );
  }
  private readonly apps: () => Promise<AppsV1Api>;
  private readonly core: () => Promise<NodeReader>;
  private readonly ingresses: () => Promise<IngressGateway>;

  async listIngresses(namespace: string): Promise<IngressObject[]> {
    try {
      return await (await this.ingresses()).listIngresses(namespace);
    } catch (err) {
      throw kubeError(err, `listing the Ingresses of namespace ${namespace}`);
    }
  }
  async readIngress(namespace: string, name: string): Promise<IngressObject | null> {
    try {
      return await (await this.ingresses()).readIngress(namespace, name);
    } catch (err) {
      throw kubeError(err, `reading Ingress ${namespace}/${name}`);
    }
  }
  async replaceIngressSpec(
    current: IngressObject,
    spec: Record<string, unknown>,
    annotation: { key: string; value: string | null },
  ): Promise<void> {
    try {
      await (await this.ingresses()).replaceIngressSpec(current, spec, annotation);
    } catch (err) {
      throw kubeError(err, `changing the spec of Ingress ${current.namespace}/${current.name}`);
    }
  }

  async listNodes(labelSelector: string): Promise<NodeStatus[]> {
    try {
      const list = await (await this.core()).listNode({ labelSelector });
      return list.items.map((n) => ({
        name: n.metadata?.name ?? '',
        ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      }));
    } catch (err) {
      throw kubeError(err, `listing nodes with labels "${labelSelector}"`);
    }
  }

  listHorizontalPodAutoscalers(namespace: string) {
    return this.workloads.listHorizontalPodAutoscalers(namespace);
  }

  listScaledObjects(namespace: string) {
    return this.workloads.listScaledObjects(namespace);
  }
  setPausedReplicas(namespace: string, name: string, value: string | null) {
    return this.workloads.setPausedReplicas(namespace, name, value);
  }

  listWorkloads(namespace: string, labelSelector: string | null) {
    return this.workloads.listWorkloads(namespace, labelSelector);
  }
  readStatefulSet(namespace: string, name: string) {
    return this.workloads.readStatefulSet(namespace, name);
  }
  scaleStatefulSet(namespace: string, name: string, replicas: number) {
    return this.workloads.scaleStatefulSet(namespace, name, replicas);
  }
  readCronJob(namespace: string, name: string) {
    return this.workloads.readCronJob(namespace, name);
  }
  setCronJobSuspend(namespace: string, name: string, suspend: boolean) {
    return this.workloads.setCronJobSuspend(namespace, name, suspend);
  }

  async readDeployment(namespace: string, name: string): Promise<DeploymentStatus> {
    const apps = await this.apps();
    try {
      return deploymentStatus(await apps.readNamespacedDeployment({ name, namespace }));
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return MISSING_DEPLOYMENT;
      throw kubeError(err, `reading deployment ${namespace}/${name}`);
    }
  }

  async scaleDeployment(namespace: string, name: string, replicas: number): Promise<void> {
    const apps = await this.apps();
    try {
      // A JSON-Patch array matches the client's default content type (a merge body would be refused).
      await apps.patchNamespacedDeploymentScale({
        name,
        namespace,
        body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
      });
    } catch (err) {
      throw kubeError(err, `scaling deployment ${namespace}/${name} to ${replicas}`);
    }
  }

  async checkScale(namespace: string, name: string): Promise<void> {
    const apps = await this.apps();
    try {
      const scale = await apps.readNamespacedDeploymentScale({ name, namespace });
      await apps.patchNamespacedDeploymentScale({
        name,
        namespace,
        dryRun: 'All',
        body: [{ op: 'replace', path: '/spec/replicas', value: scale.spec?.replicas ?? 0 }],
      });
    } catch (err) {
      throw kubeError(err, `checking permission to scale deployment ${namespace}/${name}`);
    }
  }
}

export function kubeGatewayFromKubeconfig(
  path?: string,
  context?: string,
  retryAfter: RetryAfterOptions = {},
): KubeGateway {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `cannot load kubeconfig ${path ?? '(KUBECONFIG or ~/.kube/config)'}: ${errorMessage(err)}.`,
      { fix: 'kubeconfig-file' },
    );
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new CimError(
        ErrorNames.ConfigInvalid,
        `kubeconfig ${path ?? '(default)'} has no context "${context}" (it has: ${known.slice(0, 5).join(', ') || 'none'}${known.length > 5 ? ', ...' : ''}).`,
        { fix: 'kubeconfig-context' },
      );
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `kubeconfig ${path ?? '(default)'} has no current context with a cluster.`,
      { fix: 'kubeconfig-cluster' },
    );
  }
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const autoscaling = kc.makeApiClient(AutoscalingV2Api);
  const core = nodeReader(kc);
  const ingresses = ingressClient(kc);
  return new ClientNodeKubeGateway(
    async () => apps,
    async () => batch,
    async () => custom,
    async () => autoscaling,
    async () => core,
    retryAfter,
    async () => ingresses,
  );
}

type CredentialsProvider = () => Promise<TemporaryCredentials>;

const TOKEN_TTL_MS = 14 * 60 * 1000; // tokens live 15 minutes; refresh a minute early

/** `k8s-aws-v1.` token: a presigned STS GetCallerIdentity URL carrying the cluster name. */
export async function eksToken(
  cluster: string,
  region: string,
  credentials?: CredentialsProvider,
): Promise<string> {
  const signer = new SignatureV4({
    credentials: credentials ?? fromNodeProviderChain(),
    region,
    service: 'sts',
    sha256: Sha256,
  });
  const hostname = `sts.${region}.amazonaws.com`;
  const signed = await signer.presign(
    new HttpRequest({
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      headers: { host: hostname, 'x-k8s-aws-id': cluster },
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    }),
    { expiresIn: 60 },
  );
  const qs = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = `https://${hostname}/?${qs}`;
  return `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`;
}

/** A gateway that talks to an EKS cluster; endpoint and token are cached across invocations. */
export function kubeGatewayForEks(
  cluster: string,
  region: string,
  eks = new EKSClient({ region, requestHandler: AWS_REQUEST_TIMEOUTS }),
  credentials?: CredentialsProvider,
): KubeGateway {
  let cached:
    | {
        apps: AppsV1Api;
        batch: BatchV1Api;
        custom: CustomObjectsApi;
        autoscaling: AutoscalingV2Api;
        core: NodeReader;
        ingresses: IngressGateway;
        until: number;
      }
    | undefined;
  const clients = async () => {
    if (cached && cached.until > Date.now()) return cached;
    const out = await eks.send(new DescribeClusterCommand({ name: cluster }));
    const c = out.cluster;
    if (!c?.endpoint || !c.certificateAuthority?.data) {
      throw new CimError(
        ErrorNames.KubernetesError,
        `EKS cluster ${cluster} in ${region} has no endpoint yet (status ${c?.status ?? 'unknown'})`,
      );
    }
    const token = await eksToken(cluster, region, credentials);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: cluster, server: c.endpoint, caData: c.certificateAuthority.data, skipTLSVerify: false },
      ],
      users: [{ name: 'cim', token }],
      contexts: [{ name: cluster, cluster, user: 'cim' }],
      currentContext: cluster,
    });
    cached = {
      apps: kc.makeApiClient(AppsV1Api),
      batch: kc.makeApiClient(BatchV1Api),
      custom: kc.makeApiClient(CustomObjectsApi),
      autoscaling: kc.makeApiClient(AutoscalingV2Api),
      core: nodeReader(kc),
      ingresses: ingressClient(kc),
      until: Date.now() + TOKEN_TTL_MS,
    };
    return cached;
  };
  return new ClientNodeKubeGateway(
    async () => (await clients()).apps,
    async () => (await clients()).batch,
    async () => (await clients()).custom,
    async () => (await clients()).autoscaling,
    async () => (await clients()).core,
    {},
    async () => (await clients()).ingresses,
  );
}

/** Lambda: one EKS gateway per cluster and region, endpoint and token cached. */
export function eksKube(
  credentialsFor: CredentialsFor = assumeRoleCredentials(),
): (env: Environment) => KubeGateway {
  const gateways = memo((k) => {
    const [cluster = '', region = ''] = k.split('|');
    return kubeGatewayForEks(cluster, region);
  });
  // A cluster in another account: DescribeCluster and the token with the target role's credentials.
  const targets = new Map<string, KubeGateway>();
  return (env) => {
    if (!env.target) return gateways(`${env.cluster}|${env.region}`);
    const key = `${env.cluster}|${env.region}|${env.target.roleArn}|${env.target.externalId}`;
    let gw = targets.get(key);
    if (!gw) {
      const credentials: CredentialsProvider = async () => {
        const c = await credentialsFor(env, currentExecution());
        if (!c) throw new Error(`internal: no credentials for ${env.target?.roleArn}`);
        return c;
      };
      gw = kubeGatewayForEks(
        env.cluster,
        env.region,
        new EKSClient({ region: env.region, credentials }),
        credentials,
      );
      targets.set(key, gw);
    }
    return gw;
  };
}

/** CLI: one kubeconfig for every environment (path and context from flags, config or KUBECONFIG). */
export function kubeconfigKube(
  config: Config,
  path?: string,
  context?: string,
): (env: Environment) => KubeGateway {
  const gw = kubeGatewayFromKubeconfig(
    path ?? config.kubernetes.kubeconfig,
    context ?? config.kubernetes.context,
  );
  return () => gw;
}
