// Owns what the domain needs from Kubernetes for the Ingresses of an opted-in environment
// (issue 19: pointed at the sleeping backend while down): list them with their spec exactly as
// the API server returns it, and replace a spec in one request that fails if the object
// changed since it was read. The implementation is clients/kubernetes-ingresses.ts; the
// KubeGateway of an environment provides these methods too.
import { CimError, ErrorNames } from '../errors.ts';
import type { KubeGateway } from './kubernetes.ts';

/** One networking.k8s.io/v1 Ingress: its spec as JSON, untouched, and its annotations. */
export interface IngressObject {
  name: string;
  namespace: string;
  /** metadata.resourceVersion: the replace below is refused if it changed meanwhile. */
  resourceVersion: string;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
}

export interface IngressGateway {
  /** The namespace's Ingresses (networking.k8s.io/v1). */
  listIngresses(namespace: string): Promise<IngressObject[]>;
  /** One Ingress, or null when it does not exist. */
  readIngress(namespace: string, name: string): Promise<IngressObject | null>;
  /**
   * Replaces the spec and sets (string) or removes (null) one annotation, only if the object
   * is still at `current.resourceVersion` (a JSON Patch with a test: a conflict is an error, nothing
   * changed).
   */
  replaceIngressSpec(
    current: IngressObject,
    spec: Record<string, unknown>,
    annotation: { key: string; value: string | null },
  ): Promise<void>;
}

/** The Ingress methods of an environment's Kubernetes gateway; a gateway without them is refused by name. */
export function ingressesOf(kube: KubeGateway): IngressGateway {
  const k = kube as Partial<IngressGateway>;
  if (
    typeof k.listIngresses !== 'function' ||
    typeof k.readIngress !== 'function' ||
    typeof k.replaceIngressSpec !== 'function'
  ) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      'this Kubernetes gateway cannot handle Ingresses; remove "sleepingBackend" from the environment or use the client-node gateway',
    );
  }
  return k as IngressGateway;
}
