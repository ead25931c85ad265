// Issue 15 item 3: a Kubernetes 429 with Retry-After is waited for (bounded) and retried in the
// function; otherwise it is a KubernetesError, which the Task's Retry repeats. The gateway is
// the real client-node gateway against a fake API server on 127.0.0.1 that answers 429 as
// API Priority and Fairness does; the wait is a recorded fake.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  kubeGatewayFromKubeconfig,
  RETRY_AFTER_MAX_RETRIES,
  RETRY_AFTER_MAX_SECONDS,
  retryAfterSeconds,
} from '#core/clients/kubernetes';
import { ErrorNames } from '#core/errors';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'alpha-dev', generation: 1 },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: {} },
  status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 },
};

/** What the fake API server answers next: 429s (with these Retry-After values, null: none), then 200. */
let throttles: (string | null)[] = [];
const requests: string[] = [];
let server: Server;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url?.split('?')[0]}`);
    if (throttles.length) {
      const after = throttles.shift();
      res.writeHead(429, {
        'content-type': 'application/json',
        ...(after === null || after === undefined ? {} : { 'retry-after': after }),
      });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'Too many requests, please try again later.',
          reason: 'TooManyRequests',
          code: 429,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url?.startsWith('/api/v1/nodes')) res.end(JSON.stringify({ kind: 'NodeList', items: [] }));
    else if (req.url?.endsWith('/scale')) res.end(JSON.stringify({ kind: 'Scale', spec: { replicas: 0 } }));
    else res.end(JSON.stringify(deployment));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  dir = mkdtempSync(join(tmpdir(), 'cim-kube-429-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP on the loopback: client-node requires skip-TLS-verify for it.
      clusters: [
        { name: 'fake', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'u' } }],
      'current-context': 'fake',
    }),
  );
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const slept: number[] = [];
const gateway = () =>
  kubeGatewayFromKubeconfig(kubeconfig, undefined, {
    sleep: async (ms) => {
      slept.push(ms);
    },
  });

beforeEach(() => {
  throttles = [];
  requests.length = 0;
  slept.length = 0;
});

describe('a Kubernetes 429', () => {
  it('with Retry-After is waited for as asked and the call retried, reads and writes alike', async () => {
    throttles = ['2'];
    const status = await gateway().readDeployment('alpha-dev', 'web');
    expect(status).toMatchObject({ exists: true, replicas: 2, availableReplicas: 2 });
    expect(slept).toEqual([2000]);
    expect(requests).toEqual([
      'GET /apis/apps/v1/namespaces/alpha-dev/deployments/web',
      'GET /apis/apps/v1/namespaces/alpha-dev/deployments/web',
    ]);

    throttles = ['1'];
    requests.length = 0;
    await gateway().scaleDeployment('alpha-dev', 'web', 0);
    expect(requests).toEqual([
      'PATCH /apis/apps/v1/namespaces/alpha-dev/deployments/web/scale',
      'PATCH /apis/apps/v1/namespaces/alpha-dev/deployments/web/scale',
    ]);
    expect(slept).toEqual([2000, 1000]);
  });

  it('on the node list (the plain GET) honours Retry-After too', async () => {
    throttles = ['1'];
    const gw = gateway() as unknown as { listNodes(sel: string): Promise<unknown[]> };
    expect(await gw.listNodes('eks.amazonaws.com/nodegroup=ng')).toEqual([]);
    expect(slept).toEqual([1000]);
    expect(requests).toHaveLength(2);
  });

  it('without Retry-After is a KubernetesError at once, for the Task Retry to repeat', async () => {
    throttles = [null];
    const err = await gateway()
      .readDeployment('alpha-dev', 'web')
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: ErrorNames.KubernetesError });
    expect((err as Error).message).toContain('HTTP 429, no Retry-After');
    expect(requests).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it('asking for longer than the function may wait is not waited for in the function', async () => {
    throttles = [String(RETRY_AFTER_MAX_SECONDS + 1)];
    const err = await gateway()
      .readDeployment('alpha-dev', 'web')
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: ErrorNames.KubernetesError });
    expect((err as Error).message).toContain(`Retry-After ${RETRY_AFTER_MAX_SECONDS + 1} s`);
    expect(slept).toEqual([]);
  });

  it('that persists is retried a bounded number of times, then is a KubernetesError', async () => {
    throttles = Array(RETRY_AFTER_MAX_RETRIES + 1).fill('1');
    const err = await gateway()
      .readDeployment('alpha-dev', 'web')
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: ErrorNames.KubernetesError });
    expect(requests).toHaveLength(RETRY_AFTER_MAX_RETRIES + 1);
    expect(slept).toEqual(Array(RETRY_AFTER_MAX_RETRIES).fill(1000));
    // The most a call waits in the function: well inside the function's 60 s timeout.
    expect(RETRY_AFTER_MAX_RETRIES * RETRY_AFTER_MAX_SECONDS).toBeLessThanOrEqual(10);
  });
});

describe('Retry-After', () => {
  it('is read as delta-seconds or an HTTP date, only on a 429', () => {
    const now = Date.parse('2026-12-06T10:00:00Z');
    expect(retryAfterSeconds({ code: 429, headers: { 'retry-after': '3' } }, now)).toBe(3);
    expect(
      retryAfterSeconds({ code: 429, headers: { 'Retry-After': 'Sun, 06 Dec 2026 10:00:04 GMT' } }, now),
    ).toBe(4);
    expect(retryAfterSeconds({ code: 429, headers: { 'retry-after': 'soon' } }, now)).toBeNull();
    expect(retryAfterSeconds({ code: 429, headers: {} }, now)).toBeNull();
    expect(retryAfterSeconds({ code: 503, headers: { 'retry-after': '3' } }, now)).toBeNull();
  });
});
