// Owns the HorizontalPodAutoscaler kind. This tool never changes an HPA: Kubernetes ignores
// an HPA while its target is at 0 (ScalingActive=False, ScalingDisabled), so a down needs
// nothing from it, and an up restores the recorded count and then leaves the workload to its
// autoscaler. What it does: record each HPA's bounds at the down, report at the up an HPA
// whose bounds changed meanwhile, and wait after the up until every HPA of a restored
// workload is active again (checkAutoscalers in changes.ts).
import * as z from 'zod';
import type { HpaStatus } from '../gateways/workloads.ts';
import type { AttachedKind } from './kind.ts';

const HPA = 'HorizontalPodAutoscaler';

/** A HorizontalPodAutoscaler targeting a scaled workload: its bounds, recorded, never changed by this tool. */
export interface HpaState {
  kind: 'HorizontalPodAutoscaler';
  name: string;
  namespace: string;
  exists: boolean;
  targetKind: string;
  targetName: string;
  minReplicas: number;
  maxReplicas: number;
}

export const LegacyHpa = z.looseObject({
  hpa_namespace: z.string(),
  hpa_target_kind: z.string(),
  hpa_target_name: z.string(),
  hpa_min_replicas: z.number().int('must be an integer').min(0),
  hpa_max_replicas: z.number().int('must be an integer').min(1),
});
type Legacy = z.output<typeof LegacyHpa>;

/** The bounds recorded at the down. */
export interface RecordedHpa {
  namespace: string;
  targetKind: string;
  targetName: string;
  minReplicas: number;
  maxReplicas: number;
}

/**
 * Is the HPA controller acting on the HPA again? While its target is at 0 the controller
 * reports ScalingActive=False with reason ScalingDisabled (Kubernetes ignores the HPA); once
 * it has seen the target back above 0 the condition is anything else: True with metrics,
 * False with FailedGetResourceMetric where no metrics server answers. Not reported yet: no.
 */
export function hpaActive(h: Pick<HpaStatus, 'scalingActive'>): boolean {
  const c = h.scalingActive;
  return c !== null && !(c.status === 'False' && c.reason === 'ScalingDisabled');
}

export const autoscalers: AttachedKind<HpaState, Legacy, RecordedHpa, 'hpas'> = {
  sort: 'attached',
  kind: HPA,
  recordKey: 'k8s_hpas',
  legacy: LegacyHpa,
  state: z.object({
    kind: z.literal(HPA),
    name: z.string(),
    namespace: z.string(),
    exists: z.boolean(),
    targetKind: z.string(),
    targetName: z.string(),
    minReplicas: z.number().int().min(0),
    maxReplicas: z.number().int().min(1),
  }),
  toLegacy: (w) => ({
    hpa_namespace: w.namespace,
    hpa_target_kind: w.targetKind,
    hpa_target_name: w.targetName,
    hpa_min_replicas: w.minReplicas,
    hpa_max_replicas: w.maxReplicas,
  }),
  fromLegacy: (name, h) => ({
    kind: HPA,
    name,
    namespace: h.hpa_namespace,
    exists: true,
    targetKind: h.hpa_target_kind,
    targetName: h.hpa_target_name,
    minReplicas: h.hpa_min_replicas,
    maxReplicas: h.hpa_max_replicas,
  }),
  restoreKey: 'hpas',
  enabled: () => true,
  async list(gw, namespace) {
    return (await gw.listHorizontalPodAutoscalers(namespace)).map((h) => {
      const { scalingActive: _active, ...rest } = h;
      return { kind: HPA, exists: true, ...rest };
    });
  },
  namespaceOf: (h) => h.hpa_namespace,
  restoreValue(name, h, refuse) {
    if (h.hpa_min_replicas > h.hpa_max_replicas)
      throw refuse(
        `HorizontalPodAutoscaler ${name} is recorded with minReplicas ${h.hpa_min_replicas} above maxReplicas ${h.hpa_max_replicas}`,
      );
    return {
      namespace: h.hpa_namespace,
      targetKind: h.hpa_target_kind,
      targetName: h.hpa_target_name,
      minReplicas: h.hpa_min_replicas,
      maxReplicas: h.hpa_max_replicas,
    };
  },
  /** Up (Prepare): HPAs whose minReplicas/maxReplicas are not what the restore point recorded. */
  drift(recorded, now, fromBuild) {
    const out = [];
    for (const [name, was] of Object.entries(recorded)) {
      const h = now.find((w) => w.kind === HPA && w.name === name && w.namespace === was.namespace) as
        | HpaState
        | undefined;
      const bounds = `${was.minReplicas}-${was.maxReplicas}`;
      if (!h)
        out.push({
          deployment: name,
          kind: HPA,
          reason: `HorizontalPodAutoscaler ${was.namespace}/${name} (min-max ${bounds} at build ${fromBuild}) no longer targets a scaled workload or was deleted`,
        } as const);
      else if (h.minReplicas !== was.minReplicas || h.maxReplicas !== was.maxReplicas)
        out.push({
          deployment: name,
          kind: HPA,
          reason: `HorizontalPodAutoscaler ${was.namespace}/${name} changed since the down (min-max ${bounds} at build ${fromBuild}, now ${h.minReplicas}-${h.maxReplicas}); left as it is`,
        } as const);
    }
    return out;
  },
};
