// Owns Ingress access (networking.k8s.io/v1) with plain JSON requests on the API server,
// authenticated like the generated clients (the kubeconfig's CA, client certificate or token):
// the spec must come back and go out exactly as the API server holds it (the generated
// NetworkingV1Api would map it through its model classes), and NetworkingV1Api would add to
// every Kubernetes function's bundle for four calls.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import type { IngressGateway, IngressObject } from '../gateways/ingresses.ts';

type Raw = {
  metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: unknown;
};

/** One request with a JSON answer; a non-2xx answer is an ApiException (its code, body and headers). */
export async function kubeJson(
  kc: KubeConfig,
  method: 'GET' | 'PATCH',
  path: string,
  body?: { contentType: string; json: unknown },
): Promise<unknown> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const url = new URL(`${server.replace(/\/$/, '')}${path}`);
  const payload = body ? JSON.stringify(body.json) : undefined;
  const opts: RequestOptions = {
    method,
    headers: {
      accept: 'application/json',
      ...(body && payload !== undefined
        ? { 'content-type': body.contentType, 'content-length': Buffer.byteLength(payload) }
        : {}),
    },
    timeout: 20_000,
  };
  await kc.applyToHTTPSOptions(opts);
  const { status, text, headers } = await new Promise<{
    status: number;
    text: string;
    headers: Record<string, unknown>;
  }>((resolve, reject) => {
    const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, opts, (res) => {
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        t += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within 20 s`)));
    req.on('error', reject);
    req.end(payload);
  });
  if (status < 200 || status >= 300) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {}
    throw new ApiException(status, `HTTP ${status}: ${message}`, text, headers as Record<string, string>);
  }
  return JSON.parse(text);
}

const base = (namespace: string) =>
  `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/ingresses`;

function ingressOf(namespace: string, o: Raw): IngressObject {
  return {
    name: o.metadata?.name ?? '',
    namespace,
    resourceVersion: o.metadata?.resourceVersion ?? '',
    annotations: { ...(o.metadata?.annotations ?? {}) },
    spec: (o.spec && typeof o.spec === 'object' ? o.spec : {}) as Record<string, unknown>,
  };
}

/** JSON Pointer escaping of one key ("/" in an annotation key is "~1"). */
const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The JSON Patch of replaceIngressSpec: refused (422, nothing changed) unless the object is
 * still at the version read; the annotation set or removed (the whole map removed with its
 * last key, so an Ingress without annotations gets none back).
 */
export function ingressPatch(
  current: IngressObject,
  spec: Record<string, unknown>,
  annotation: { key: string; value: string | null },
): unknown[] {
  const others = Object.keys(current.annotations).filter((k) => k !== annotation.key);
  const has = annotation.key in current.annotations;
  const ops: unknown[] = [
    { op: 'test', path: '/metadata/resourceVersion', value: current.resourceVersion },
    { op: 'replace', path: '/spec', value: spec },
  ];
  if (annotation.value !== null) {
    if (Object.keys(current.annotations).length === 0)
      ops.push({ op: 'add', path: '/metadata/annotations', value: { [annotation.key]: annotation.value } });
    else
      ops.push({
        op: 'add',
        path: `/metadata/annotations/${pointer(annotation.key)}`,
        value: annotation.value,
      });
  } else if (has) {
    ops.push(
      others.length === 0
        ? { op: 'remove', path: '/metadata/annotations' }
        : { op: 'remove', path: `/metadata/annotations/${pointer(annotation.key)}` },
    );
  }
  return ops;
}

export function ingressClient(kc: KubeConfig): IngressGateway {
  return {
    async listIngresses(namespace) {
      const list = (await kubeJson(kc, 'GET', base(namespace))) as { items?: Raw[] };
      return (list.items ?? []).map((o) => ingressOf(namespace, o));
    },
    async readIngress(namespace, name) {
      try {
        return ingressOf(
          namespace,
          (await kubeJson(kc, 'GET', `${base(namespace)}/${encodeURIComponent(name)}`)) as Raw,
        );
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return null;
        throw err;
      }
    },
    async replaceIngressSpec(current, spec, annotation) {
      await kubeJson(kc, 'PATCH', `${base(current.namespace)}/${encodeURIComponent(current.name)}`, {
        contentType: 'application/json-patch+json',
        json: ingressPatch(current, spec, annotation),
      });
    },
  };
}
