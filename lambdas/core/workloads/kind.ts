// Owns what a workload kind is (the types every kind file implements, and the plan lines and
// skips they produce). It imports no kind and no run code, so kind files, the registry
// (kinds.ts) and the run's contracts can all use it without an import cycle.
import type * as z from 'zod';
import type { Environment, WorkloadTarget } from '../config/schema.ts';
import type { CimError } from '../errors.ts';
import type { WorkloadGateway, WorkloadKind } from '../gateways/workloads.ts';

export interface Skip {
  /** The workload's name (the legacy key says deployment; `kind` tells the others apart). */
  deployment: string;
  reason: string;
  kind?: WorkloadKind | 'HorizontalPodAutoscaler' | 'Ingress';
}

export type PlannedStatefulSet = {
  kind: 'statefulset';
  namespace: string;
  name: string;
  from: number;
  to: number;
};

export type PlannedCronJob = {
  kind: 'cronjob';
  namespace: string;
  name: string;
  suspend: boolean;
  from: boolean;
};

/** The plan lines of the kinds (rendered by the CLI). */
export type PlannedWorkload = PlannedStatefulSet | PlannedCronJob;

/** One change of a target kind: its value before and after (a WorkloadChange of kinds.ts). */
export interface KindChange<K extends string, V> {
  kind: K;
  name: string;
  namespace: string;
  from: V;
  to: V;
}

export interface KindState {
  kind: string;
  name: string;
  namespace: string;
  exists: boolean;
}

export interface KindBase<S extends KindState, L, R extends string> {
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
   * Its place in the phases (docs/configuration.md "Order"): `outer` kinds are changed first on a down and
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
    c: KindChange<S['kind'], V>,
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
