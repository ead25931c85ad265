// Owns the registry of workload kinds other than Deployments: one entry per kind, each in a
// file of its own (statefulsets.ts, cronjobs.ts, keda.ts, autoscalers.ts). An entry says
// where the kind sits in a state record, how it is read into the state, what a restore point
// keeps of it, how a down and an up change it and when it counts as settled. The generic
// code (the state record, the restore point, the snapshot, the plan, the steps and polls)
// iterates over `KINDS` instead of naming kinds.
//
// Two sorts of kind: a *target* is configured (or discovered) by name next to the
// deployments and is changed by the run (StatefulSet, CronJob); an *attached* kind is found
// through the scaled targets it points at (KEDA ScaledObject, HorizontalPodAutoscaler).
// Deployments stay outside the registry: their legacy record (`k8s_deployments`, written by
// the Python tool) and the legacy `skipped`/`changes` shapes are their own.
//
// What a kind is (TargetKind, AttachedKind, plan lines, Skip) is in kind.ts, which imports no
// kind and no run code; kind files import only kind.ts, and only this registry imports the kind
// files. Kind files import no run step code (fence, poll): the steps that wrap these entries
// are in changes.ts, so the records and the plan can use the registry without an import cycle.
//
// A new kind: its file here plus one line in KINDS (and its plan line type in kind.ts
// PlannedWorkload), its tests, and what Kubernetes access it needs: its methods in
// gateways/workloads.ts, clients/kubernetes-workloads.ts (+ the delegation in
// clients/kubernetes.ts; listWorkloads if it can be discovered), test/support/fake-kube.ts
// and config/rbac.ts. A target kind is also named in config/schema.ts (workloads[].kind,
// discover.kinds) and rendered in cli/output/printer.ts. Only a kind with steps of its own
// adds state names (steps.ts), handlers, the states in infra/workflows/environment.ts and
// the function's needs in infra/iam/needs.ts; its steps come from the builders
// in changes.ts (downStep, upStep, pauseStep, restoreStep). Then `npm run schema`.
import type { Environment } from '../config/schema.ts';
import { autoscalers } from './autoscalers.ts';
import { cronJobs } from './cronjobs.ts';
import { scaledObjects } from './keda.ts';
import type {
  AnyAttachedKind,
  AnyKind,
  AnyTargetKind,
  AttachedKind,
  KindBase,
  KindState,
  Skip,
  TargetKind,
} from './kind.ts';
import { statefulSets } from './statefulsets.ts';

/**
 * Every kind, in the order a record's kinds are read back (and so the order of the
 * workloads of a state read from S3): the targets, then the attached kinds.
 */
export const KINDS = [statefulSets, cronJobs, scaledObjects, autoscalers] as const;

const ALL: readonly AnyKind[] = KINDS;
export const TARGET_KINDS: readonly AnyTargetKind[] = ALL.filter(
  (k): k is AnyTargetKind => k.sort === 'target',
);
export const ATTACHED_KINDS: readonly AnyAttachedKind[] = ALL.filter(
  (k): k is AnyAttachedKind => k.sort === 'attached',
);

type Kinds = (typeof KINDS)[number];
type StateOf<K> = K extends KindBase<infer S, infer _L, infer _R> ? S : never;
type ValueOf<K> = K extends { valueOf(s: never): infer V }
  ? V
  : K extends AttachedKind<infer _S, infer _L, infer V, infer _R>
    ? V
    : never;

type ChangeOf<K> =
  K extends TargetKind<infer S, infer _L, infer V, infer _R>
    ? { kind: S['kind']; name: string; namespace: string; from: V; to: V }
    : never;

/** What a run changed of a target (a StatefulSet scaled, a CronJob's suspend flag set), in phase order. */
export type WorkloadChange = ChangeOf<Kinds>;

/** Every kind's state, as carried in the run context and written to the record. */
export type WorkloadState = StateOf<Kinds>;

/** What a restore point keeps of the kinds, by kind then name. */
export type RestoredWorkloads = {
  [K in Kinds as K['restoreKey']]: Record<string, ValueOf<K>>;
} & {
  /** "Kind name" of recorded targets that are no longer configured: reported, not restored. */
  notConfigured: string[];
};

export function kindOf(kind: string): AnyKind {
  const k = KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`internal: no workload kind ${kind}`);
  return k as AnyKind;
}

export function targetKindOf(kind: string): AnyTargetKind {
  const k = kindOf(kind);
  if (k.sort !== 'target') throw new Error(`internal: ${kind} is not a target kind`);
  return k;
}

export const workloadLabel = (w: { kind: string; namespace: string; name: string }) =>
  `${w.kind} ${w.namespace}/${w.name}`;

/** The restore point's entries of a kind (none in a legacy record or a context without it). */
export function restoredOf(restored: RestoredWorkloads | undefined, kind: AnyKind): Record<string, unknown> {
  return (restored as Record<string, Record<string, unknown>> | undefined)?.[kind.restoreKey] ?? {};
}

/** "Kind/namespace/name" of every Deployment and scalable target of the environment. */
export function scaledTargets(env: Environment): Set<string> {
  const scalable = new Set(TARGET_KINDS.filter((k) => k.scalable).map((k) => k.kind));
  return new Set([
    ...env.deployments.map((d) => `Deployment/${d.namespace}/${d.name}`),
    ...env.workloads.filter((w) => scalable.has(w.kind)).map((w) => `${w.kind}/${w.namespace}/${w.name}`),
  ]);
}

/** Preflight of a down: what about this object would make the up refuse to restore it. */
export function preflightProblem(s: WorkloadState, env: Environment): string | undefined {
  const k = kindOf(s.kind);
  return k.sort === 'target' ? k.preflight?.(s, env) : undefined;
}

/** Up (Prepare): recorded objects of the attached kinds that changed since the down, reported and left alone. */
export function changedSinceDown(
  restored: RestoredWorkloads | undefined,
  now: readonly KindState[],
  fromBuild: string,
): Skip[] {
  return ATTACHED_KINDS.flatMap((k) => k.drift?.(restoredOf(restored, k), now, fromBuild) ?? []);
}
