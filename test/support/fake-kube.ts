// An in-memory Kubernetes for unit and workflow tests (the integration tier uses a real
// API server). Scaled deployments become available after `readsUntilReady` reads.

import { matchesLabels, parseLabelSelector } from '#core/config/label-selector';
import { CimError, ErrorNames } from '#core/errors';
import type { IngressGateway, IngressObject } from '#core/gateways/ingresses';
import {
  type DeploymentStatus,
  type KubeGateway,
  MISSING_DEPLOYMENT,
  type NodeLister,
  type NodeStatus,
} from '#core/gateways/kubernetes';
import {
  type CronJobStatus,
  type DiscoveredWorkload,
  type HpaStatus,
  MISSING_CRONJOB,
  MISSING_STATEFULSET,
  type ScaledObjectStatus,
  type StatefulSetStatus,
  type WorkloadGateway,
} from '#core/gateways/workloads';

interface FakeDeployment {
  replicas: number;
  available: number;
  readsLeft: number;
}

/** One pod's requests of every fake deployment and StatefulSet (issue 18's records). */
export const FAKE_DEPLOYMENT_REQUESTS = { cpuCores: 0.35, memoryBytes: 320 * 2 ** 20 };
export const FAKE_STATEFULSET_REQUESTS = { cpuCores: 1, memoryBytes: 2 * 2 ** 30 };

export class FakeKube implements KubeGateway, WorkloadGateway, NodeLister, IngressGateway {
  readonly deployments = new Map<string, FakeDeployment>();
  readonly statefulSets = new Map<string, FakeDeployment>();
  readonly cronJobs = new Map<string, { suspend: boolean; schedule: string; activeJobs?: number }>();
  /** Every change in order ("scale deployment ns/name 0", "scale statefulset ...", "suspend cronjob ..."). */
  readonly log: string[] = [];
  readonly scaled: { namespace: string; name: string; replicas: number }[] = [];
  readonly forbiddenNamespaces = new Set<string>();
  /** Namespaces where this identity may read but not scale (a Role without deployments/scale patch). */
  readonly readOnlyNamespaces = new Set<string>();
  constructor(
    private readonly readsUntilReady = 0,
    private readonly afterScale?: (namespace: string, name: string) => void,
    private readonly beforeCall?: () => void,
  ) {}

  add(namespace: string, name: string, replicas: number): this {
    this.deployments.set(`${namespace}/${name}`, { replicas, available: replicas, readsLeft: 0 });
    return this;
  }

  replicas(namespace: string, name: string): number | undefined {
    return this.deployments.get(`${namespace}/${name}`)?.replicas;
  }

  async readDeployment(namespace: string, name: string): Promise<DeploymentStatus> {
    this.guard(namespace);
    const d = this.deployments.get(`${namespace}/${name}`);
    if (!d) {
      return MISSING_DEPLOYMENT;
    }
    if (d.available !== d.replicas) {
      if (d.readsLeft <= 0) d.available = d.replicas;
      else d.readsLeft--;
    }
    const ok = d.available > 0 || d.replicas === 0;
    return {
      exists: true,
      replicas: d.replicas,
      currentReplicas: Math.max(d.available, d.replicas),
      readyReplicas: d.available,
      availableReplicas: d.available,
      updatedReplicas: d.replicas,
      observed: true,
      availableCondition: {
        status: ok ? 'True' : 'False',
        reason: ok ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      },
      // Two containers of 250m + 100m CPU and 256Mi + 64Mi memory (what the template says).
      requests: FAKE_DEPLOYMENT_REQUESTS,
    };
  }

  async scaleDeployment(namespace: string, name: string, replicas: number): Promise<void> {
    this.guard(namespace);
    const d = this.deployments.get(`${namespace}/${name}`);
    if (!d) throw new CimError(ErrorNames.KubernetesError, `deployment ${namespace}/${name} not found`);
    this.scaled.push({ namespace, name, replicas });
    this.log.push(`scale deployment ${namespace}/${name} ${replicas}`);
    d.replicas = replicas;
    if (replicas < d.available) d.available = replicas;
    d.readsLeft = this.readsUntilReady;
    this.afterScale?.(namespace, name);
  }

  async checkScale(namespace: string, name: string): Promise<void> {
    this.guard(namespace);
    if (this.readOnlyNamespaces.has(namespace))
      throw new CimError(
        ErrorNames.KubernetesAccessDenied,
        `patch deployments/scale ${namespace}/${name}: access denied (HTTP 403)`,
      );
    if (!this.deployments.has(`${namespace}/${name}`))
      throw new CimError(ErrorNames.KubernetesError, `deployment ${namespace}/${name} not found`);
  }

  /** KEDA ScaledObjects by "namespace/name". */
  readonly scaledObjects = new Map<
    string,
    { targetKind: string; targetName: string; pausedReplicas: string | null }
  >();

  async listScaledObjects(namespace: string): Promise<ScaledObjectStatus[]> {
    this.guard(namespace);
    return [...this.scaledObjects]
      .filter(([k]) => k.startsWith(`${namespace}/`))
      .map(([k, o]) => ({ name: k.slice(namespace.length + 1), namespace, ...o }));
  }

  async setPausedReplicas(namespace: string, name: string, value: string | null): Promise<void> {
    this.guard(namespace);
    const o = this.scaledObjects.get(`${namespace}/${name}`);
    if (!o) throw new CimError(ErrorNames.KubernetesError, `scaledobject ${namespace}/${name} not found`);
    this.log.push(`paused-replicas ${namespace}/${name} ${value}`);
    o.pausedReplicas = value;
    this.afterScale?.(namespace, name);
  }

  /**
   * HorizontalPodAutoscalers by "namespace/name". Like the HPA controller, ScalingDisabled
   * while the target is at 0; once it is back, still ScalingDisabled for `staleReads` more
   * reads (the controller's next sync), then active.
   */
  readonly hpas = new Map<
    string,
    { targetKind: string; targetName: string; minReplicas: number; maxReplicas: number; staleReads?: number }
  >();

  async listHorizontalPodAutoscalers(namespace: string): Promise<HpaStatus[]> {
    this.guard(namespace);
    return [...this.hpas]
      .filter(([k]) => k.startsWith(`${namespace}/`))
      .map(([k, h]) => {
        const map = h.targetKind === 'StatefulSet' ? this.statefulSets : this.deployments;
        const target = map.get(`${namespace}/${h.targetName}`);
        let disabled = !target || target.replicas === 0;
        if (!disabled && (h.staleReads ?? 0) > 0) {
          h.staleReads = (h.staleReads ?? 0) - 1;
          disabled = true;
        }
        return {
          name: k.slice(namespace.length + 1),
          namespace,
          targetKind: h.targetKind,
          targetName: h.targetName,
          minReplicas: h.minReplicas,
          maxReplicas: h.maxReplicas,
          scalingActive: disabled
            ? { status: 'False', reason: 'ScalingDisabled' }
            : { status: 'False', reason: 'FailedGetResourceMetric' },
        };
      });
  }

  /**
   * Nodes of each EKS node group (label eks.amazonaws.com/nodegroup). New nodes are not Ready
   * for `nodesReadyAfter` lists (kubelet joining), then Ready.
   */
  readonly nodes = new Map<string, { count: number; notReadyLists: number }>();
  nodesReadyAfter = 0;

  setNodes(nodegroup: string, count: number): void {
    const before = this.nodes.get(nodegroup)?.count ?? 0;
    this.nodes.set(nodegroup, { count, notReadyLists: count > before ? this.nodesReadyAfter : 0 });
  }

  async listNodes(labelSelector: string): Promise<NodeStatus[]> {
    this.beforeCall?.();
    const name = labelSelector.split('=')[1] ?? '';
    const n = this.nodes.get(name);
    if (!n) return [];
    const ready = n.notReadyLists <= 0;
    if (!ready) n.notReadyLists--;
    return Array.from({ length: n.count }, (_, i) => ({ name: `${name}-node-${i}`, ready }));
  }

  /** Labels and the exclude annotation, by "namespace/name" (any kind). */
  readonly labels = new Map<string, Record<string, string>>();
  readonly excluded = new Set<string>();

  async listWorkloads(namespace: string, labelSelector: string | null): Promise<DiscoveredWorkload[]> {
    this.guard(namespace);
    const reqs = labelSelector ? parseLabelSelector(labelSelector) : [];
    const out: DiscoveredWorkload[] = [];
    const kinds = [
      ['Deployment', this.deployments],
      ['StatefulSet', this.statefulSets],
      ['CronJob', this.cronJobs],
    ] as const;
    for (const [kind, map] of kinds)
      for (const key of map.keys()) {
        const [ns, name = ''] = key.split('/');
        if (ns !== namespace || !matchesLabels(reqs, this.labels.get(key) ?? {})) continue;
        out.push({ kind, name, namespace, excluded: this.excluded.has(key) });
      }
    return out;
  }

  addStatefulSet(namespace: string, name: string, replicas: number): this {
    this.statefulSets.set(`${namespace}/${name}`, { replicas, available: replicas, readsLeft: 0 });
    return this;
  }

  addCronJob(namespace: string, name: string, suspend = false, schedule = '*/1 * * * *'): this {
    this.cronJobs.set(`${namespace}/${name}`, { suspend, schedule });
    return this;
  }

  async readStatefulSet(namespace: string, name: string): Promise<StatefulSetStatus> {
    this.guard(namespace);
    const s = this.statefulSets.get(`${namespace}/${name}`);
    if (!s) return MISSING_STATEFULSET;
    if (s.available !== s.replicas) {
      if (s.readsLeft <= 0) s.available = s.replicas;
      else s.readsLeft--;
    }
    return {
      exists: true,
      replicas: s.replicas,
      podCount: Math.max(s.available, s.replicas),
      readyReplicas: s.available,
      availableReplicas: s.available,
      currentReplicas: s.available,
      observed: true,
      requests: FAKE_STATEFULSET_REQUESTS,
    };
  }

  async scaleStatefulSet(namespace: string, name: string, replicas: number): Promise<void> {
    this.guard(namespace);
    const s = this.statefulSets.get(`${namespace}/${name}`);
    if (!s) throw new CimError(ErrorNames.KubernetesError, `statefulset ${namespace}/${name} not found`);
    this.log.push(`scale statefulset ${namespace}/${name} ${replicas}`);
    s.replicas = replicas;
    if (replicas < s.available) s.available = replicas;
    s.readsLeft = this.readsUntilReady;
    this.afterScale?.(namespace, name);
  }

  async readCronJob(namespace: string, name: string): Promise<CronJobStatus> {
    this.guard(namespace);
    const c = this.cronJobs.get(`${namespace}/${name}`);
    if (!c) return MISSING_CRONJOB;
    return { exists: true, suspend: c.suspend, schedule: c.schedule, activeJobs: c.activeJobs ?? 0 };
  }

  async setCronJobSuspend(namespace: string, name: string, suspend: boolean): Promise<void> {
    this.guard(namespace);
    const c = this.cronJobs.get(`${namespace}/${name}`);
    if (!c) throw new CimError(ErrorNames.KubernetesError, `cronjob ${namespace}/${name} not found`);
    this.log.push(`${suspend ? 'suspend' : 'resume'} cronjob ${namespace}/${name}`);
    c.suspend = suspend;
    this.afterScale?.(namespace, name);
  }

  /**
   * Ingresses by "namespace/name", as an API server keeps them: every change bumps the
   * resourceVersion, and a replace at an older one is refused (409) with nothing changed.
   */
  readonly ingresses = new Map<
    string,
    { resourceVersion: number; annotations: Record<string, string>; spec: Record<string, unknown> }
  >();

  addIngress(
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
    annotations: Record<string, string> = {},
  ): this {
    this.ingresses.set(`${namespace}/${name}`, {
      resourceVersion: 1,
      annotations: { ...annotations },
      spec: structuredClone(spec),
    });
    return this;
  }

  /** Changes an Ingress as a person would (kubectl edit): a new spec and/or annotations, a new version. */
  editIngress(
    namespace: string,
    name: string,
    change: { spec?: Record<string, unknown>; annotations?: Record<string, string> },
  ) {
    const i = this.ingresses.get(`${namespace}/${name}`);
    if (!i) throw new Error(`no fake Ingress ${namespace}/${name}`);
    if (change.spec) i.spec = structuredClone(change.spec);
    if (change.annotations) i.annotations = { ...change.annotations };
    i.resourceVersion++;
  }

  private ingressObject(key: string): IngressObject | null {
    const i = this.ingresses.get(key);
    if (!i) return null;
    const [namespace = '', name = ''] = key.split('/');
    return {
      name,
      namespace,
      resourceVersion: String(i.resourceVersion),
      annotations: { ...i.annotations },
      spec: structuredClone(i.spec),
    };
  }

  async listIngresses(namespace: string): Promise<IngressObject[]> {
    this.guard(namespace);
    return [...this.ingresses.keys()]
      .filter((k) => k.startsWith(`${namespace}/`))
      .map((k) => this.ingressObject(k) as IngressObject);
  }

  async readIngress(namespace: string, name: string): Promise<IngressObject | null> {
    this.guard(namespace);
    return this.ingressObject(`${namespace}/${name}`);
  }

  async replaceIngressSpec(
    current: IngressObject,
    spec: Record<string, unknown>,
    annotation: { key: string; value: string | null },
  ): Promise<void> {
    this.guard(current.namespace);
    const key = `${current.namespace}/${current.name}`;
    const i = this.ingresses.get(key);
    if (!i) throw new CimError(ErrorNames.KubernetesError, `ingress ${key} not found`);
    if (String(i.resourceVersion) !== current.resourceVersion)
      throw new CimError(ErrorNames.KubernetesError, `ingress ${key}: the object has been modified (409)`);
    this.log.push(`${annotation.value === null ? 'restore' : 'point'} ingress ${key}`);
    i.spec = structuredClone(spec);
    if (annotation.value === null) delete i.annotations[annotation.key];
    else i.annotations[annotation.key] = annotation.value;
    i.resourceVersion++;
    this.afterScale?.(current.namespace, current.name);
  }

  private guard(namespace: string) {
    this.beforeCall?.();
    if (this.forbiddenNamespaces.has(namespace)) {
      throw new CimError(
        ErrorNames.KubernetesAccessDenied,
        `access denied (HTTP 403) in namespace ${namespace}`,
      );
    }
  }
}
