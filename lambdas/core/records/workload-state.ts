// Owns the state of the workload kinds other than Deployments in a state record.
// `k8s_deployments` keeps its legacy shape; each other kind goes into a top-level key of its
// own, in the same style (its `recordKey` in workloads/kinds.ts: `k8s_statefulsets`,
// `k8s_cronjobs`, `keda_scaledobjects`, `k8s_hpas`), written only when the environment has
// such workloads, so a record written now still parses with the legacy reader and a legacy
// record (without them) still restores. JSON Schema: schemas/state-record.schema.json.
import * as z from 'zod';
import type { AnyKind } from '../workloads/kind.ts';
import { KINDS, kindOf, type WorkloadState } from '../workloads/kinds.ts';

export type { HpaState } from '../workloads/autoscalers.ts';
export type { CronJobState } from '../workloads/cronjobs.ts';
export type { ScaledObjectState } from '../workloads/keda.ts';
export type { StatefulSetState } from '../workloads/statefulsets.ts';
export type { WorkloadState };

// The published JSON Schema lists k8s_hpas first (it was added there first); the others
// follow in registry order. A new kind's key goes last, so the schema only grows.
const SCHEMA_FIRST = 'k8s_hpas';
const schemaOrder: readonly AnyKind[] = [
  ...KINDS.filter((k) => k.recordKey === SCHEMA_FIRST),
  ...KINDS.filter((k) => k.recordKey !== SCHEMA_FIRST),
];

/** The keys a state record may carry next to k8s_deployments. */
export const LegacyWorkloadKeys: Record<
  string,
  z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodType>>
> = Object.fromEntries(schemaOrder.map((k) => [k.recordKey, z.record(z.string(), k.legacy).optional()]));

export function workloadsToLegacy(workloads: readonly WorkloadState[] | undefined): Record<string, unknown> {
  if (!workloads?.length) return {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const w of workloads) {
    const k = kindOf(w.kind);
    const entries = out[k.recordKey] ?? {};
    entries[w.name] = k.toLegacy(w);
    out[k.recordKey] = entries;
  }
  return out;
}

export function workloadsFromLegacy(p: Record<string, unknown>): WorkloadState[] | undefined {
  const stored = (k: AnyKind) => p[k.recordKey] as Record<string, unknown> | undefined;
  if (KINDS.every((k) => !stored(k))) return undefined;
  return KINDS.flatMap((k) =>
    Object.entries(stored(k) ?? {}).map(([name, l]): WorkloadState => (k as AnyKind).fromLegacy(name, l)),
  );
}

/** The run context's copy of the workloads (checked at each Task's boundary). */
export const WorkloadStateSchema = z.discriminatedUnion(
  'kind',
  KINDS.map((k) => k.state) as unknown as [z.ZodObject, ...z.ZodObject[]],
);
