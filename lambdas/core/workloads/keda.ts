// Owns the KEDA ScaledObject kind (environments with `keda: true`): the ScaledObjects that
// target a scaled workload are paused at 0 (autoscaling.keda.sh/paused-replicas: "0") before
// any scale on a down, so KEDA does not scale their target back up, and given their recorded
// annotation back exactly (or none) before any scale on an up.
import * as z from 'zod';
import type { AttachedKind } from './kind.ts';

/** A KEDA ScaledObject targeting a scaled workload, and its paused-replicas annotation before the down. */
export interface ScaledObjectState {
  kind: 'ScaledObject';
  name: string;
  namespace: string;
  exists: boolean;
  targetKind: string;
  targetName: string;
  pausedReplicas: string | null;
}

export const LegacyScaledObject = z.looseObject({
  scaledobject_namespace: z.string(),
  scaledobject_target_kind: z.string(),
  scaledobject_target_name: z.string(),
  paused_replicas: z.string().nullable(),
});
type Legacy = z.output<typeof LegacyScaledObject>;

/** What up gives back: the annotation recorded before the down (null: there was none). */
interface Recorded {
  namespace: string;
  pausedReplicas: string | null;
}

export const scaledObjects: AttachedKind<ScaledObjectState, Legacy, Recorded, 'scaledObjects'> = {
  sort: 'attached',
  kind: 'ScaledObject',
  recordKey: 'keda_scaledobjects',
  legacy: LegacyScaledObject,
  state: z.object({
    kind: z.literal('ScaledObject'),
    name: z.string(),
    namespace: z.string(),
    exists: z.boolean(),
    targetKind: z.string(),
    targetName: z.string(),
    pausedReplicas: z.string().nullable(),
  }),
  toLegacy: (w) => ({
    scaledobject_namespace: w.namespace,
    scaledobject_target_kind: w.targetKind,
    scaledobject_target_name: w.targetName,
    paused_replicas: w.pausedReplicas,
  }),
  fromLegacy: (name, o) => ({
    kind: 'ScaledObject',
    name,
    namespace: o.scaledobject_namespace,
    exists: true,
    targetKind: o.scaledobject_target_kind,
    targetName: o.scaledobject_target_name,
    pausedReplicas: o.paused_replicas,
  }),
  restoreKey: 'scaledObjects',
  enabled: (env) => env.keda,
  async list(gw, namespace) {
    return (await gw.listScaledObjects(namespace)).map((o) => ({ kind: 'ScaledObject', exists: true, ...o }));
  },
  namespaceOf: (o) => o.scaledobject_namespace,
  restoreValue: (_name, o) => ({ namespace: o.scaledobject_namespace, pausedReplicas: o.paused_replicas }),
  async pause(gw, recorded, skipped) {
    for (const o of recorded) {
      try {
        await gw.setPausedReplicas(o.namespace, o.name, '0');
      } catch (err) {
        if ((await gw.listScaledObjects(o.namespace)).some((x) => x.name === o.name)) throw err;
        skipped.push({
          deployment: o.name,
          reason: `ScaledObject ${o.namespace}/${o.name} was deleted during the run`,
        });
      }
    }
  },
  async restore(gw, recorded, skipped) {
    for (const [name, o] of Object.entries(recorded)) {
      const now = (await gw.listScaledObjects(o.namespace)).find((x) => x.name === name);
      if (!now) {
        skipped.push({ deployment: name, reason: `ScaledObject ${o.namespace}/${name} does not exist` });
        continue;
      }
      if (now.pausedReplicas !== o.pausedReplicas)
        await gw.setPausedReplicas(o.namespace, name, o.pausedReplicas);
    }
  },
};
