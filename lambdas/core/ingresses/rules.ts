// Owns the rules of the Ingresses of an opted-in environment (issue 19, `sleepingBackend`):
// what a down makes of an Ingress's spec (every rule path's backend and the defaultBackend
// point at the sleeping Service), the annotation that marks an Ingress as pointed by a down
// (so a rerun, and the up, know it), and the bounds of what a record may hold.
//
// The annotation says which spec the down recorded (a digest of it) and which backend it
// pointed at: the up restores an Ingress only when its spec is still exactly what that down
// wrote from that record; anything else was changed while asleep and is reported, like drift.
import { createHash } from 'node:crypto';
import type { IngressObject } from '../gateways/ingresses.ts';
import { jsonDepth } from '../gateways/store.ts';
import type { Skip } from '../workloads/kind.ts';

/** Set on an Ingress by the down that pointed it; removed by the up that restores it. */
export const SLEEPING_ANNOTATION = 'customer-infra-manager/sleeping-backend';

/** At most this many Ingresses per environment are recorded (the run context carries their specs). */
export const MAX_INGRESSES = 40;
/** At most this many bytes (JSON, UTF-8) of one Ingress's spec are recorded. */
export const MAX_INGRESS_SPEC_BYTES = 8_192;
/**
 * At most this deep (objects and arrays) is a recorded spec: a record nests it 3 levels down and
 * is read only up to 16 (gateways/store.ts MAX_RECORD_DEPTH), so a deeper one would make the
 * pre-state unreadable. A real spec is 9 deep (rules, http, paths, backend, service, port).
 */
export const MAX_INGRESS_SPEC_DEPTH = 12;
/** At most this many bytes of Ingress specs in all (inside the run context's margin; run/payload-limit.ts). */
export const MAX_INGRESS_TOTAL_BYTES = 65_536;

/** Ingress names are DNS subdomains: lower-case labels separated by ".", at most 253 characters. */
export const INGRESS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface SleepingBackend {
  service: string;
  port: number;
}

/** One Ingress as a run records it (pre-state on a down; the restore point of the up). */
export interface IngressState {
  name: string;
  namespace: string;
  /** The spec exactly as the API server returned it. */
  spec: Record<string, unknown>;
  /** It carried the annotation already: an earlier down pointed it (its spec is not the original). */
  pointed: boolean;
}

export const specBytes = (spec: unknown) => Buffer.byteLength(JSON.stringify(spec) ?? '', 'utf8');

/** JSON with object keys sorted: the same value gives the same text whatever the key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export const sameSpec = (a: unknown, b: unknown) => canonical(a) === canonical(b);

const digest = (spec: unknown) => createHash('sha256').update(canonical(spec)).digest('hex').slice(0, 32);

/** The annotation's value: `v1;<service>:<port>;<digest of the recorded spec>`. */
export function marker(recorded: Record<string, unknown>, backend: SleepingBackend): string {
  return `v1;${backend.service}:${backend.port};${digest(recorded)}`;
}

/** What a marker says, or null when it is not one this version wrote. */
export function parseMarker(value: string): { backend: SleepingBackend; digest: string } | null {
  const m = /^v1;([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?):(\d{1,5});([0-9a-f]{32})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return null;
  return { backend: { service: m[1] as string, port }, digest: m[4] as string };
}

const backendOf = (b: SleepingBackend) => ({ service: { name: b.service, port: { number: b.port } } });

/**
 * The spec a down writes: every rule path's backend and the defaultBackend (when there is one)
 * point at the sleeping Service; everything else (hosts, paths, TLS, class) stays as it is.
 */
export function pointedSpec(spec: Record<string, unknown>, b: SleepingBackend): Record<string, unknown> {
  const out = structuredClone(spec) as {
    defaultBackend?: unknown;
    rules?: { http?: { paths?: { backend?: unknown }[] } }[];
  };
  if (out.defaultBackend !== undefined) out.defaultBackend = backendOf(b);
  for (const rule of Array.isArray(out.rules) ? out.rules : [])
    for (const path of Array.isArray(rule?.http?.paths) ? rule.http.paths : [])
      if (path && typeof path === 'object') path.backend = backendOf(b);
  return out as Record<string, unknown>;
}

/**
 * Is `now` exactly what the down that recorded `recorded` left? Its annotation names that
 * record and a backend, and its spec is the record pointed at that backend.
 */
export function asDownLeft(now: IngressObject, recorded: Record<string, unknown>): boolean {
  const value = now.annotations[SLEEPING_ANNOTATION];
  const m = value === undefined ? null : parseMarker(value);
  return m !== null && m.digest === digest(recorded) && sameSpec(now.spec, pointedSpec(recorded, m.backend));
}

const label = (i: { namespace: string; name: string }) => `Ingress ${i.namespace}/${i.name}`;

export const ingressSkip = (i: { namespace: string; name: string }, reason: string): Skip => ({
  deployment: `${i.namespace}/${i.name}`,
  kind: 'Ingress',
  reason: `${label(i)} ${reason}`,
});

/**
 * Down (Prepare): the Ingresses a record can hold, within the bounds; the others are left as
 * they are (never pointed, since the up could not restore them) and reported.
 */
export function withinBounds(all: readonly IngressState[]): { kept: IngressState[]; skipped: Skip[] } {
  const kept: IngressState[] = [];
  const skipped: Skip[] = [];
  let total = 0;
  for (const i of [...all].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  )) {
    const n = specBytes(i.spec);
    const why =
      n > MAX_INGRESS_SPEC_BYTES
        ? `has a spec of ${n} bytes, above the ${MAX_INGRESS_SPEC_BYTES} a record holds`
        : jsonDepth(JSON.stringify(i.spec), MAX_INGRESS_SPEC_DEPTH) > MAX_INGRESS_SPEC_DEPTH
          ? `has a spec nested deeper than the ${MAX_INGRESS_SPEC_DEPTH} levels a record holds`
          : kept.length >= MAX_INGRESSES
            ? `is one more than the ${MAX_INGRESSES} Ingresses a record holds`
            : total + n > MAX_INGRESS_TOTAL_BYTES
              ? `would take the recorded Ingress specs above ${MAX_INGRESS_TOTAL_BYTES} bytes`
              : null;
    if (why) skipped.push(ingressSkip(i, `${why}: left as it is, not pointed at the sleeping backend`));
    else {
      kept.push(i);
      total += n;
    }
  }
  return { kept, skipped };
}

/**
 * The build whose pre-state holds the Ingress records an up gives back: the last down's restore
 * point (the down that pointed them, whose record their marker names), whatever build the
 * workloads' counts come from (--restore-from-build).
 */
export const ingressRecordBuild = (lastChange: { build: string; restorePointBuild: string | null }) =>
  lastChange.restorePointBuild ?? lastChange.build;

/**
 * Do the Ingress Tasks of this run have anything to do? A down: Ingresses were recorded (only
 * for an environment with sleepingBackend). An up: its restore point recorded some (even if
 * the environment no longer opts in: they still point at the sleeping backend).
 */
export function ingressPhase(
  action: string,
  preState: { ingresses?: readonly IngressState[] },
  restore: { ingresses?: readonly IngressState[] } | null,
): boolean {
  if (action === 'down') return (preState.ingresses ?? []).some((i) => !i.pointed);
  if (action === 'up') return (restore?.ingresses?.length ?? 0) > 0;
  return false;
}
