// Owns the Ingresses in a state record (issue 19, environments with `sleepingBackend`): a
// pre-state of a down keeps every Ingress of the environment's namespaces under
// `k8s_ingresses`, keyed "namespace/name", with its spec exactly as read; written only when
// there are such Ingresses, so a record without them still parses with the legacy reader and a
// legacy record restores no Ingress. The restore point's copy comes from S3 and is untrusted:
// the names, the namespaces and the sizes are checked before an up writes any spec back.
import * as z from 'zod';
import { environmentNamespaces } from '../config/rbac.ts';
import { type Environment, NAME_PATTERN } from '../config/schema.ts';
import type { CimError } from '../errors.ts';
import {
  INGRESS_NAME,
  type IngressState,
  MAX_INGRESS_SPEC_BYTES,
  MAX_INGRESS_TOTAL_BYTES,
  MAX_INGRESSES,
  specBytes,
} from '../ingresses/rules.ts';

export type { IngressState };

const LegacyIngress = z
  .object({
    ingress_namespace: z.string().regex(NAME_PATTERN, 'a namespace name'),
    ingress_name: z.string().regex(INGRESS_NAME, 'an Ingress name (a DNS subdomain)'),
    ingress_spec: z
      .record(z.string(), z.unknown())
      .describe('The spec exactly as the API server returned it.'),
    ingress_pointed: z
      .boolean()
      .describe(
        'It was already pointed at the sleeping backend by an earlier down (not restored from this record).',
      ),
  })
  .strict();

/** The key a state record may carry next to k8s_deployments. */
export const LegacyIngressKeys = {
  k8s_ingresses: z
    .record(z.string(), LegacyIngress)
    .optional()
    .describe('Ingresses of an environment with sleepingBackend, by "namespace/name" (pre-state of a down).'),
};

export function ingressesToLegacy(ingresses: readonly IngressState[] | undefined): Record<string, unknown> {
  if (!ingresses?.length) return {};
  return {
    k8s_ingresses: Object.fromEntries(
      ingresses.map((i) => [
        `${i.namespace}/${i.name}`,
        {
          ingress_namespace: i.namespace,
          ingress_name: i.name,
          ingress_spec: i.spec,
          ingress_pointed: i.pointed,
        },
      ]),
    ),
  };
}

type Stored = z.output<typeof LegacyIngress>;

export function ingressesFromLegacy(p: {
  k8s_ingresses?: Record<string, Stored> | undefined;
}): IngressState[] | undefined {
  if (!p.k8s_ingresses) return undefined;
  return Object.values(p.k8s_ingresses).map((i) => ({
    name: i.ingress_name,
    namespace: i.ingress_namespace,
    spec: i.ingress_spec,
    pointed: i.ingress_pointed,
  }));
}

/** The run context's copy (checked at each Task's boundary). */
export const IngressStateSchema = z.object({
  name: z.string().regex(INGRESS_NAME),
  namespace: z.string().regex(NAME_PATTERN),
  spec: z.record(z.string(), z.unknown()),
  pointed: z.boolean(),
});

/**
 * The restore point's Ingresses (none in a record without them): each keyed by its own
 * namespace and name, in one of the environment's namespaces, within the bounds a down records.
 */
export function validateIngressRecords(
  rec: { k8s_ingresses?: Record<string, Stored> | undefined },
  env: Environment,
  refuse: (why: string) => CimError,
): IngressState[] | undefined {
  const stored = rec.k8s_ingresses;
  if (!stored) return undefined;
  const namespaces = new Set(environmentNamespaces(env));
  const entries = Object.entries(stored);
  if (entries.length > MAX_INGRESSES)
    throw refuse(`it records ${entries.length} Ingresses, more than the ${MAX_INGRESSES} a down records`);
  let total = 0;
  for (const [key, i] of entries) {
    if (key !== `${i.ingress_namespace}/${i.ingress_name}`)
      throw refuse(`Ingress entry "${key.slice(0, 80)}" names ${i.ingress_namespace}/${i.ingress_name}`);
    if (!namespaces.has(i.ingress_namespace))
      throw refuse(
        `Ingress ${key} is recorded in namespace "${i.ingress_namespace}", not one of the environment's`,
      );
    const n = specBytes(i.ingress_spec);
    if (n > MAX_INGRESS_SPEC_BYTES)
      throw refuse(`Ingress ${key} has a recorded spec of ${n} bytes, above ${MAX_INGRESS_SPEC_BYTES}`);
    total += n;
  }
  if (total > MAX_INGRESS_TOTAL_BYTES)
    throw refuse(`its Ingress specs take ${total} bytes, above ${MAX_INGRESS_TOTAL_BYTES}`);
  return ingressesFromLegacy(rec);
}

const IngressesOnly = z.object({
  jenkins_build: z.union([z.string(), z.number()]).transform(String),
  ...LegacyIngressKeys,
});

/**
 * The Ingresses of a pre-state read for them alone (an up that takes its counts from another
 * build gives the Ingresses back from the down that pointed them): the same checks as a
 * restore point's, and the record must say it belongs to that build.
 */
export function ingressRecordsOf(
  json: unknown,
  build: string,
  env: Environment,
  refuse: (why: string) => CimError,
): IngressState[] | undefined {
  const parsed = IngressesOnly.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
      .join('; ');
    throw refuse(`its Ingresses are not a state record's (${detail})`);
  }
  if (parsed.data.jenkins_build !== build)
    throw refuse(`it says it belongs to build "${parsed.data.jenkins_build}", not ${build}`);
  return validateIngressRecords(parsed.data, env, refuse);
}
