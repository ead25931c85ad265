// The deployed wake page's function, as Lambda runs it: the configuration bundled beside it
// (LAMBDA_TASK_ROOT), the stack's variables, API Gateway HTTP API events (payload 2.0, as
// API Gateway sends them), a real OpenID Connect issuer on 127.0.0.1, S3 in memory and the
// Step Functions API mocked. The hostile cases assert that nothing was written and nothing
// started; a good POST starts ONE execution of the environment workflow carrying the wake.
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '#core/config/catalog';
import type { HttpApiEvent, HttpApiResult } from '#core/wake/deployed';
import { writeDeployedConfig } from '#infra/bundling';
import { fakeStepFunctions } from '../../support/fake-sfn.ts';
import { memoryBucket } from '../../support/memory-s3.ts';
import { fixture, fixtureJson } from '../../support/world.ts';

const AUDIENCE = 'cim-wake';
const ALPHA = 'alpha-dev.example.test';
const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:cim-environment';
const P = 'eks-dev-cluster/alpha/dev';
const issuerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

let idp: Server;
let issuer: string;
let dir: string;
let handler: (event: HttpApiEvent) => Promise<HttpApiResult>;

beforeAll(async () => {
  idp = createServer((req, res) => {
    const jwk = issuerKey.publicKey.export({ format: 'jwk' });
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/jwks` }
        : req.url === '/jwks'
          ? { keys: [{ ...jwk, kid: 'k1', use: 'sig', alg: 'RS256' }] }
          : null;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((ok) => idp.listen(0, '127.0.0.1', ok));
  issuer = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;
  // What the stack bundles: the fixture's environments and a wake section.
  const raw = parseYaml(readFileSync(fixture('environments.yaml'), 'utf8')) as Record<string, unknown>;
  const config = parseConfig(
    {
      ...raw,
      wake: {
        issuer,
        audience: AUDIENCE,
        hosts: { [ALPHA]: 'alpha/dev' },
        allow: { default: { claim: 'groups', values: ['devs'] } },
      },
    },
    'test',
  );
  dir = mkdtempSync(join(tmpdir(), 'cim-wake-endpoint-'));
  writeDeployedConfig(dir, config);
  process.env.LAMBDA_TASK_ROOT = dir;
  process.env.CIM_ENVIRONMENT_STATE_MACHINE_ARN = ARN;
  process.env.CIM_WAKE_CSRF_SECRET = 'a-generated-secret-of-the-stack-0123456789';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('#handlers/wake-endpoint'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((ok) => idp.close(() => ok()));
});

let bucket: ReturnType<typeof memoryBucket>;
let sfn: AwsClientStub<SFNClient>;
let started: { name: string; input: Record<string, unknown> }[];
beforeEach(() => {
  bucket = memoryBucket();
  bucket.put(`${P}/actions.json`, fixtureJson('legacy-actions-build-10.json'));
  ({ sfn, started } = fakeStepFunctions(ARN));
});
afterEach(() => {
  sfn.restore();
  bucket.mock.restore();
});

function jwt(claims: Record<string, unknown>, key: KeyObject = issuerKey.privateKey): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = part({ alg: 'RS256', typ: 'JWT', kid: 'k1' });
  const body = part({ iss: issuer, aud: AUDIENCE, sub: 'u-alice', iat: now, exp: now + 600, ...claims });
  const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key).toString('base64url');
  return `${head}.${body}.${sig}`;
}
const alice = () => jwt({ email: 'alice@example.test', groups: ['devs'] });

/** An HTTP API (payload 2.0) event as API Gateway sends it to the function. */
function event(
  method: string,
  path: string,
  o: {
    host?: string;
    token?: string;
    cookies?: string[];
    form?: Record<string, string>;
    base64?: boolean;
  } = {},
): HttpApiEvent {
  const host = o.host ?? ALPHA;
  const form = o.form ? new URLSearchParams(o.form).toString() : undefined;
  const [rawPath = '/', rawQueryString = ''] = path.split('?');
  return {
    version: '2.0',
    routeKey: `${method} ${rawPath}`,
    rawPath,
    rawQueryString,
    ...(o.cookies ? { cookies: o.cookies } : {}),
    headers: {
      accept: 'text/html,application/xhtml+xml',
      host,
      'user-agent': 'Mozilla/5.0 (test)',
      'x-forwarded-for': '203.0.113.9',
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '198.51.100.7',
        userAgent: 'Mozilla/5.0 (test)',
      },
      requestId: 'req-1',
      routeKey: `${method} ${rawPath}`,
      stage: '$default',
      time: '06/Dec/2026:20:00:00 +0000',
      timeEpoch: 1796587200000,
    },
    ...(form !== undefined
      ? { body: o.base64 ? Buffer.from(form).toString('base64') : form, isBase64Encoded: Boolean(o.base64) }
      : { isBase64Encoded: false }),
  } as unknown as HttpApiEvent;
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** Nothing written to the bucket and no execution started since it was called. */
function unchanged() {
  const writes = bucket.writes.length;
  return () => {
    expect(bucket.writes.slice(writes)).toEqual([]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  };
}

describe('the deployed wake page (wake-endpoint function)', () => {
  it('shows the page on GET and starts nothing; the token from the header becomes an HttpOnly cookie', async () => {
    const check = unchanged();
    const res = await handler(event('GET', '/', { token: alice() }));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<h1>alpha/dev</h1>');
    expect(res.cookies?.[0]).toMatch(/^cim_wake=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
    expect(res.headers['set-cookie']).toBeUndefined();
    check();
  });

  it('answers 404 for a host outside the configured map, before looking at the token', async () => {
    const check = unchanged();
    const res = await handler(
      event('GET', '/', { host: 'abc123.execute-api.us-east-1.amazonaws.com', token: alice() }),
    );
    expect(res.statusCode).toBe(404);
    check();
  });

  it('answers 401 without a token, and for a token signed by another key', async () => {
    const check = unchanged();
    expect((await handler(event('GET', '/'))).statusCode).toBe(401);
    const forged = jwt({ email: 'alice@example.test', groups: ['devs'] }, foreignKey.privateKey);
    expect((await handler(event('POST', '/wake', { token: forged, form: { csrf: 'x' } }))).statusCode).toBe(
      401,
    );
    check();
  });

  it('answers 403 to a person without the claim, and to a POST with a bad CSRF token', async () => {
    const check = unchanged();
    const mallory = jwt({ email: 'mallory@example.test', groups: ['sales'] });
    expect((await handler(event('GET', '/', { token: mallory }))).statusCode).toBe(403);
    const forged = await handler(
      event('POST', '/wake', { token: alice(), form: { csrf: '1796587200.AAAA' } }),
    );
    expect(forged.statusCode).toBe(403);
    check();
  });

  it('starts ONE execution of the environment workflow on POST with the page’s CSRF token (cookie, base64 body)', async () => {
    const page = await handler(event('GET', '/', { token: alice() }));
    const cookie = (page.cookies?.[0] ?? '').split(';')[0] as string;
    const form = { csrf: csrfOf(page.body) };
    const res = await handler(event('POST', '/wake', { cookies: [cookie], form, base64: true }));
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe('/?waking=1');
    // A second press (another tab) joins the same execution.
    expect((await handler(event('POST', '/wake', { cookies: [cookie], form }))).statusCode).toBe(303);
    expect(started).toHaveLength(1);
    expect(started[0]?.input).toMatchObject({
      action: 'up',
      customer: 'alpha',
      environment: 'dev',
      build: 'wake-10',
      user: 'wake:alice@example.test',
      wake: {
        minutes: 120,
        source: 'http',
        requester: {
          user: 'alice@example.test',
          subject: 'u-alice',
          // API Gateway's source address, not the X-Forwarded-For anyone can send.
          address: '198.51.100.7',
          userAgent: 'Mozilla/5.0 (test)',
        },
      },
    });
    // The function writes nothing: the workflow records the wake.
    expect(bucket.writes).toEqual([]);
  });

  it('answers HEAD without a body and an unknown route with 404', async () => {
    const head = await handler(event('HEAD', '/', { token: alice() }));
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect((await handler(event('GET', '/admin', { token: alice() }))).statusCode).toBe(404);
  });
});
