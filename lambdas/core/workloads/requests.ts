// Owns a pod's resource requests as the state records keep them (issue 18): CPU cores and
// memory bytes of one pod, summed over the containers of its template (init containers run
// before and are not added), read from the Deployment or StatefulSet the snapshot reads
// anyway. Kubernetes quantities: "250m", "1.5", "512Mi", "1G", "2e3".
import * as z from 'zod';

export interface PodRequests {
  /** Null when no container requests CPU. */
  cpuCores: number | null;
  /** Null when no container requests memory. */
  memoryBytes: number | null;
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/;

/** A Kubernetes quantity as a number; null when it is not one (or negative). */
export function parseQuantity(q: string | number | undefined | null): number | null {
  if (typeof q === 'number') return Number.isFinite(q) && q >= 0 ? q : null;
  if (typeof q !== 'string') return null;
  const m = QUANTITY.exec(q.trim());
  if (!m) return null;
  const base = Number(m[1]);
  const value = m[2] ? Number(`${m[1]}${m[2]}`) : base * (SUFFIX[m[3] ?? ''] ?? Number.NaN);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

type Container = { resources?: { requests?: Record<string, unknown> | undefined } | undefined };

/** One pod's requests: the sum over its containers of those that set them. */
export function podRequests(containers: readonly Container[] | undefined): PodRequests {
  let cpu: number | null = null;
  let memory: number | null = null;
  for (const c of containers ?? []) {
    const r = c.resources?.requests ?? {};
    const cores = parseQuantity(r.cpu as string | undefined);
    const bytes = parseQuantity(r.memory as string | undefined);
    if (cores !== null) cpu = (cpu ?? 0) + cores;
    if (bytes !== null) memory = (memory ?? 0) + bytes;
  }
  // Milli-cores and whole bytes: no float noise in the records (0.1 + 0.2).
  return {
    cpuCores: cpu === null ? null : Math.round(cpu * 1000) / 1000,
    memoryBytes: memory === null ? null : Math.round(memory),
  };
}

// Bounds of what a record may say: 1,024 cores and 16 TiB a pod are far beyond any node.
const MAX_CORES = 1_024;
const MAX_BYTES = 2 ** 44;

/** The additive record key `pod_requests` (k8s_deployments, k8s_statefulsets entries). */
export const LegacyPodRequests = z.object({
  cpu_cores: z.number().min(0).max(MAX_CORES).nullable(),
  memory_bytes: z.number().int().min(0).max(MAX_BYTES).nullable(),
});

/** Optional, and a bad value reads as absent: nothing an up does depends on it. */
export const legacyPodRequestsKey = { pod_requests: LegacyPodRequests.optional().catch(undefined) };

export const podRequestsToLegacy = (r: PodRequests | undefined) =>
  r ? { pod_requests: { cpu_cores: r.cpuCores, memory_bytes: r.memoryBytes } } : {};

export const podRequestsFromLegacy = (l: z.output<typeof LegacyPodRequests> | undefined) =>
  l ? { requests: { cpuCores: l.cpu_cores, memoryBytes: l.memory_bytes } } : {};

/** The run context's copy. */
export const PodRequestsSchema = z.object({
  cpuCores: z.number().nullable(),
  memoryBytes: z.number().nullable(),
});
