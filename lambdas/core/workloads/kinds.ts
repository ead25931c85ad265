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
// Kind files import no run step code (fence, poll): the steps that wrap these entries are in
// changes.ts, so the records and the plan can use the registry without an import cycle.
//
// A new kind: its file here plus one line in KINDS (and its plan line type in
// PlannedWorkload), its tests, and what Kubernetes access it needs: its methods in
// gateways/workloads.ts, clients/kubernetes-workloads.ts (+ the delegation in
// clients/kubernetes.ts; listWorkloads if it can be discovered), test/support/fake-kube.ts
// and config/rbac.ts. A target kind is also named in config/schema.ts (workloads[].kind,
// discover.kinds) and rendered in cli/output/printer.ts. Only a kind with steps of its own
// adds state names (steps.ts), handlers, the states in infra/workflows/environment.ts and
// the function's needs in infra/stacks/central-stack.ts; its steps come from the builders
// in changes.ts (downStep, upStep, pauseStep, restoreStep). Then `npm run schema`.
import type * as z from 'zod';
import type { Environment, WorkloadTarget } from '../config/schema.ts';
import type { Skip } from '../contracts.ts';
import type { CimError } from '../errors.ts';
import type { WorkloadGateway } from '../gateways/workloads.ts';
import { autoscalers } from './autoscalers.ts';
import { cronJobs, type PlannedCronJob } from './cronjobs.ts';
import { scaledObjects } from './keda.ts';
import { type PlannedStatefulSet, statefulSets } from './statefulsets.ts';

/** What every kind's state has (the run context's and the record's copy). */
export interface KindState {
  kind: string;
  name: string;
  namespace: string;
  exists: boolean;
}

/** The plan lines of the kinds (rendered by the CLI). */
export type PlannedWorkload = PlannedStatefulSet | PlannedCronJob;

interface KindBase<S extends KindState, L, R extends string> {
  kind: S['kind'];
  /** Top-level key of the state record (in the legacy style), holding the kind's entries by name. */
  recordKey: string;
  /** One entry under `recordKey`, as stored. */
  legacy: z.ZodType<L>;
  /** The run context's copy of one state (checked at each Task's boundary). */
  state: z.ZodObject;
  toLegacy(s: S): Record<string, unknown>;
  fromLegacy(name: string, l: L): S;
  /** Where the restore point keeps what up needs of the kind, by name. */
  restoreKey: R;
}

/** A kind configured (or discovered) by name next to the deployments, and changed by the run. */
export interface TargetKind<
  S extends KindState = KindState,
  L = unknown,
  V = unknown,
  R extends string = string,
> extends KindBase<S, L, R> {
  sort: 'target';
  kind: S['kind'] & WorkloadTarget['kind'];
  /** HPAs and ScaledObjects may target it, and an up waits for the HPAs of those it brought back. */
  scalable: boolean;
  /**
   * Its place in the phases (README "Order"): `outer` kinds are changed first on a down and
   * last on an up (CronJobs), `inner` ones after the deployments on a down and before them on
   * an up (StatefulSets).
   */
  phase: 'outer' | 'inner';
  /** The recorded namespace of a stored entry. */
  namespaceOf(l: L): string;
  /** The state of one target now (a missing one is `exists: false`). */
  read(gw: WorkloadGateway, t: { name: string; namespace: string }): Promise<S>;
  /** Restore point: what up restores from a recorded entry of a configured target (undefined: nothing). */
  restoreValue(name: string, l: L, env: Environment, refuse: (why: string) => CimError): V | undefined;
  /** The value a change goes from/to (replicas, suspend). */
  valueOf(s: S): V;
  /** Down: the value it goes to, and the change (null: already there, nothing to call). */
  down(s: S): { to: V; apply: ((gw: WorkloadGateway) => Promise<void>) | null };
  /** Up: a reason to leave it as it is although the restore point names it. */
  upConflict?(now: S, want: V): string | undefined;
  /** How it is now, for "not in the restore point ..., left as it is (...)". */
  describeNow(now: S): string;
  /** Sets the value (down and up). */
  apply(gw: WorkloadGateway, t: { name: string; namespace: string }, to: V): Promise<void>;
  /** Its changes are polled on a down only (CronJobs: the Jobs they still run), after the other kinds'. */
  settlesOnDownOnly?: boolean;
  /** Poll after its changes: what is still pending, or a note once past the grace. Null: settled. */
  settle(
    gw: WorkloadGateway,
    c: WorkloadChange,
    when: { down: boolean; graceOver: boolean; graceSeconds: number },
  ): Promise<{ pending: string } | { note: string } | null>;
  /** The poll this kind's changes are waited for in (plan: a wait line after its phase). */
  waitFor?: 'statefulsets';
  /** Dry run: the plan line of a down (undefined: none). */
  planDown(s: S): PlannedWorkload | undefined;
  /** Dry run: the plan line of an up, given what the restore point recorded. */
  planUp(s: S, want: V | undefined): PlannedWorkload | undefined;
  /** Preflight of a down: a problem that would make the up refuse to restore it. */
  preflight?(s: S, env: Environment): string | undefined;
}

/** A kind found through the scaled targets it points at. */
export interface AttachedKind<
  S extends KindState & { targetKind: string; targetName: string } = KindState & {
    targetKind: string;
    targetName: string;
  },
  L = unknown,
  V = unknown,
  R extends string = string,
> extends KindBase<S, L, R> {
  sort: 'attached';
  /** Is it read for this environment at all? */
  enabled(env: Environment): boolean;
  /** Every object of the kind in a namespace (the snapshot keeps those targeting a scaled workload). */
  list(gw: WorkloadGateway, namespace: string): Promise<S[]>;
  namespaceOf(l: L): string;
  /** Restore point: what up needs of a recorded entry (the namespace is checked already). */
  restoreValue(name: string, l: L, refuse: (why: string) => CimError): V;
  /** Down (its own step): the change it needs before any scale. */
  pause?(gw: WorkloadGateway, recorded: S[], skipped: Skip[]): Promise<void>;
  /** Up (its own step): give back what was recorded. */
  restore?(gw: WorkloadGateway, recorded: Record<string, V>, skipped: Skip[]): Promise<void>;
  /** Up (Prepare): recorded objects that changed since the down, reported and left alone. */
  drift?(recorded: Record<string, V>, now: readonly KindState[], fromBuild: string): Skip[];
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds kinds of different state types
export type AnyTargetKind = TargetKind<any, any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: the registry holds kinds of different state types
export type AnyAttachedKind = AttachedKind<any, any, any, any>;
export type AnyKind = AnyTargetKind | AnyAttachedKind;

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
