// Owns the part of a restore point for the workload kinds other than Deployments: read from
// an untrusted record, checked like the deployments (configured names and namespaces,
// integer counts within maxReplicas). A legacy record has none: up then leaves those
// workloads as they are.
import type { Environment } from '../config/schema.ts';
import type { CimError } from '../errors.ts';
import type { AnyKind } from '../workloads/kind.ts';
import { ATTACHED_KINDS, KINDS, type RestoredWorkloads, TARGET_KINDS } from '../workloads/kinds.ts';
import type { LegacyState } from './legacy-state.ts';

export type { RestoredWorkloads };

type Rec = ReturnType<typeof LegacyState.parse>;

const stored = (rec: Rec, k: AnyKind) => Object.entries((rec[k.recordKey] ?? {}) as Record<string, unknown>);

export function validateWorkloadRecords(
  rec: Rec,
  env: Environment,
  refuse: (why: string) => CimError,
): RestoredWorkloads {
  const kept: Record<string, Record<string, unknown>> = Object.fromEntries(
    KINDS.map((k) => [k.restoreKey, {}]),
  );
  const keep = (k: AnyKind, name: string, value: unknown) => {
    (kept[k.restoreKey] as Record<string, unknown>)[name] = value;
  };
  const notConfigured: string[] = [];
  // Attached kinds (ScaledObjects, HPAs): only those in the environment's namespaces are touched.
  const namespaces = new Set([...env.deployments, ...env.workloads].map((w) => w.namespace));
  for (const k of ATTACHED_KINDS)
    for (const [name, l] of stored(rec, k)) {
      const ns = k.namespaceOf(l);
      if (!namespaces.has(ns))
        throw refuse(`${k.kind} ${name} is recorded in namespace "${ns}", not one of the environment's`);
      keep(k, name, k.restoreValue(name, l, refuse));
    }
  // Targets: only configured ones, in their configured namespace.
  for (const k of TARGET_KINDS)
    for (const [name, l] of stored(rec, k)) {
      const target = env.workloads.find((w) => w.kind === k.kind && w.name === name);
      if (!target) {
        notConfigured.push(`${k.kind} ${name}`);
        continue;
      }
      const ns = k.namespaceOf(l);
      if (ns !== target.namespace)
        throw refuse(
          `${k.kind} ${name} is recorded in namespace "${ns}", configured in "${target.namespace}"`,
        );
      const value = k.restoreValue(name, l, env, refuse);
      if (value !== undefined) keep(k, name, value);
    }
  return { ...kept, notConfigured } as RestoredWorkloads;
}
