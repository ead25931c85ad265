// Owns the StatefulSet kind: scaled to 0 after the deployments on a down (through its scale
// subresource) and back to its recorded count before them on an up; settled once its pods
// are gone, or ready at the count.
import * as z from 'zod';
import type { StatefulSetStatus } from '../gateways/workloads.ts';
import type { PlannedStatefulSet, TargetKind } from './kind.ts';
import {
  legacyPodRequestsKey,
  type PodRequests,
  PodRequestsSchema,
  podRequestsFromLegacy,
  podRequestsToLegacy,
} from './requests.ts';

export interface StatefulSetState {
  kind: 'StatefulSet';
  name: string;
  namespace: string;
  exists: boolean;
  replicas: number;
  readyReplicas: number;
  /** One pod's requests (issue 18); absent in older records and for a missing StatefulSet. */
  requests?: PodRequests;
}

export const LegacyStatefulSet = z.looseObject({
  statefulset_namespace: z.string(),
  statefulset_exists: z.boolean(),
  statefulset_replicas: z.number().int('must be an integer').min(0),
  statefulset_ready_replicas: z.number().int().min(0).optional(),
  ...legacyPodRequestsKey,
});
type Legacy = z.output<typeof LegacyStatefulSet>;

/**
 * Down: every pod gone. Up: every wanted replica ready and available, and the pods at the
 * current revision back to the count (a StatefulSet brings its pods up one by one).
 */
export function statefulSetSettled(s: StatefulSetStatus): boolean {
  if (!s.exists) return true;
  return (
    s.observed &&
    s.podCount <= s.replicas &&
    s.readyReplicas >= s.replicas &&
    s.availableReplicas >= s.replicas &&
    s.currentReplicas >= s.replicas
  );
}

const planned = (s: StatefulSetState, to: number): PlannedStatefulSet => ({
  kind: 'statefulset',
  namespace: s.namespace,
  name: s.name,
  from: s.replicas,
  to,
});

export const statefulSets: TargetKind<StatefulSetState, Legacy, number, 'statefulSets'> = {
  sort: 'target',
  kind: 'StatefulSet',
  recordKey: 'k8s_statefulsets',
  legacy: LegacyStatefulSet,
  state: z.object({
    kind: z.literal('StatefulSet'),
    name: z.string(),
    namespace: z.string(),
    exists: z.boolean(),
    replicas: z.number().int().min(0),
    readyReplicas: z.number().int().min(0),
    requests: PodRequestsSchema.optional(),
  }),
  toLegacy: (w) => ({
    statefulset_namespace: w.namespace,
    statefulset_exists: w.exists,
    statefulset_replicas: w.replicas,
    statefulset_ready_replicas: w.readyReplicas,
    ...podRequestsToLegacy(w.requests),
  }),
  fromLegacy: (name, s) => ({
    kind: 'StatefulSet',
    name,
    namespace: s.statefulset_namespace,
    exists: s.statefulset_exists,
    replicas: s.statefulset_replicas,
    readyReplicas: s.statefulset_ready_replicas ?? 0,
    ...podRequestsFromLegacy(s.pod_requests),
  }),
  restoreKey: 'statefulSets',
  scalable: true,
  phase: 'inner',
  namespaceOf: (s) => s.statefulset_namespace,
  async read(gw, w) {
    const s = await gw.readStatefulSet(w.namespace, w.name);
    return {
      kind: 'StatefulSet',
      name: w.name,
      namespace: w.namespace,
      exists: s.exists,
      replicas: s.exists ? s.replicas : 0,
      readyReplicas: s.readyReplicas,
      ...(s.exists && s.requests ? { requests: s.requests } : {}),
    };
  },
  restoreValue(name, s, env, refuse) {
    if (!s.statefulset_exists) return undefined;
    if (s.statefulset_replicas > env.maxReplicas)
      throw refuse(
        `StatefulSet ${name} would be restored to ${s.statefulset_replicas} replicas, above maxReplicas ${env.maxReplicas} (raise maxReplicas in the configuration if that is real)`,
      );
    return s.statefulset_replicas;
  },
  valueOf: (s) => s.replicas,
  down: (s) => ({
    to: 0,
    apply: s.replicas === 0 ? null : (gw) => gw.scaleStatefulSet(s.namespace, s.name, 0),
  }),
  upConflict: (now, want) =>
    now.replicas !== 0 && now.replicas !== want
      ? `changed while down (now ${now.replicas}, recorded ${want}); left as it is`
      : undefined,
  describeNow: (now) => `at ${now.replicas}`,
  apply: (gw, t, to) => gw.scaleStatefulSet(t.namespace, t.name, to),
  async settle(gw, c) {
    const s = await gw.readStatefulSet(c.namespace, c.name);
    if (statefulSetSettled(s)) return null;
    return {
      pending:
        c.to === 0
          ? `${c.name} (${s.podCount} pods left)`
          : `${c.name} (${s.readyReplicas}/${s.replicas} ready)`,
    };
  },
  waitFor: 'statefulsets',
  planDown: (s) => (s.exists ? planned(s, 0) : undefined),
  planUp: (s, want) =>
    s.exists && want !== undefined && (s.replicas === 0 || s.replicas === want)
      ? planned(s, want)
      : undefined,
  preflight: (s, env) =>
    s.exists && s.replicas > env.maxReplicas
      ? `StatefulSet ${s.namespace}/${s.name} runs ${s.replicas} replicas, above maxReplicas ${env.maxReplicas}: up would refuse to restore it; raise maxReplicas for this environment`
      : undefined,
};
