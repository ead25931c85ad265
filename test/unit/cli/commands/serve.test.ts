// `cim serve`, the wake page, over real HTTP on 127.0.0.1 against the test world (the real run
// path on the local engine, S3 and RDS in memory), with a real OpenID Connect issuer served by
// the test (its discovery document and JWKS on 127.0.0.1, RSA keys from node:crypto). The
// hostile cases assert that nothing was written and no database was started; the happy path
// that the wake's up ran once, with the requester in wake.json, and that the page follows it.
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import type { WakeServer } from '#cli/commands/serve';
import { capture } from '../../../support/capture.ts';
import { makeWorld, type World } from '../../../support/world.ts';

const fake = vi.hoisted(() => ({ kube: undefined as unknown }));
vi.mock('#core/clients/kubernetes', async (importOriginal) => ({
  ...(await importOriginal<typeof import('#core/clients/kubernetes')>()),
  kubeconfigKube: () => () => fake.kube,
}));

const AUDIENCE = 'cim-wake';
const ALPHA = 'alpha-dev.example.test';
const BETA = 'beta-staging.example.test';
const APP = 'https://alpha-dev.example.test/app';
const P = 'eks-dev-cluster/alpha/dev';
const WAKE = `${P}/wake.json`;

const issuerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** The test's issuer: a discovery document and a JWKS with issuerKey's public half. */
let idp: Server;
let issuer: string;
let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
let startWakeServer: typeof import('#cli/commands/serve').startWakeServer;
let dir: string;
let config: string;

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
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
  ({ startWakeServer } = await import('#cli/commands/serve'));
  dir = mkdtempSync(join(tmpdir(), 'cim-serve-'));
  config = join(dir, 'environments.yaml');
  writeFileSync(
    config,
    toYaml({
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'frontend-deployment' }, { name: 'backend-deployment' }],
      },
      environments: { 'alpha/dev': {}, 'beta/staging': {} },
      wake: {
        issuer,
        audience: AUDIENCE,
        ttl: '90m',
        hosts: { [ALPHA]: { environment: 'alpha/dev', url: APP }, [BETA]: 'beta/staging' },
        allow: {
          default: { claim: 'groups', values: ['devs'] },
          'beta/staging': { claim: 'email', values: ['bob@example.test'] },
        },
      },
    }),
  );
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((ok) => idp.close(() => ok()));
});

let w: World;
let s: WakeServer;
beforeEach(async () => {
  w = makeWorld();
  fake.kube = w.kube;
  s = await startWakeServer({
    command: 'serve',
    configPath: config,
    json: false,
    port: 0,
    kubeconfig: undefined,
    context: undefined,
  });
});
afterEach(async () => {
  await s.idle();
  await s.close();
  vi.restoreAllMocks();
  w.restore();
});

function jwt(claims: Record<string, unknown>, key: KeyObject = issuerKey.privateKey, kid = 'k1'): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = part({ alg: 'RS256', typ: 'JWT', kid });
  const body = part({ iss: issuer, aud: AUDIENCE, sub: 'u-alice', iat: now, exp: now + 600, ...claims });
  const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key).toString('base64url');
  return `${head}.${body}.${sig}`;
}
const alice = () => jwt({ email: 'alice@example.test', groups: ['devs'] });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
/** One request to the wake server with this Host (node:http: fetch may not set Host). */
function ask(
  method: string,
  path: string,
  o: { host?: string; token?: string; cookie?: string; accept?: string; form?: Record<string, string> } = {},
): Promise<Answer> {
  const body = o.form ? new URLSearchParams(o.form).toString() : '';
  return new Promise((ok, fail) => {
    const req = request(
      `${s.url.replace(/\/$/, '')}${path}`,
      {
        method,
        headers: {
          host: o.host ?? ALPHA,
          accept: o.accept ?? 'text/html',
          'user-agent': 'test-browser/1.0',
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(o.cookie ? { cookie: o.cookie } : {}),
          ...(o.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

const starts = () => w.rdsCalls.filter((c) => c.startsWith('Start')).length;
const cim = (...argv: string[]) => main([...argv, '--config', config], {});

/** alpha/dev (and beta/staging) put to sleep by an ordinary down, as every wake finds them. */
async function asleep() {
  const io = capture();
  expect(await cim('down', '--customer', 'alpha', '--env', 'dev', '--user', 'jenkins'), io.err()).toBe(0);
  expect(await cim('down', '--customer', 'beta', '--env', 'staging', '--user', 'jenkins'), io.err()).toBe(0);
  vi.restoreAllMocks();
}

/** What the hostile cases must leave as it was: the bucket's writes and the database starts. */
function unchanged() {
  const writes = w.bucket.writes.length;
  const started = starts();
  return () => {
    expect(w.bucket.writes.slice(writes)).toEqual([]);
    expect(starts()).toBe(started);
    expect(w.bucket.json(WAKE)).toBeUndefined();
  };
}

describe('cim serve: the wake page', () => {
  it('shows a sleeping environment, its estimate and a Wake button, and changes nothing on GET', async () => {
    await asleep();
    const check = unchanged();
    const page = await ask('GET', '/', { token: alice() });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<h1>alpha/dev</h1>');
    expect(page.body).toContain('<strong id="state">asleep</strong>');
    expect(page.body).toContain('no estimate yet');
    expect(page.body).toMatch(
      /<form method="post" action="\/wake"><input type="hidden" name="csrf" value="[^"]+">/,
    );
    // Self-contained: nothing loads from elsewhere, and the policy says so.
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none';/);
    expect(page.body).not.toMatch(/(src|href)="https?:/);
    expect(String(page.headers['set-cookie'])).toMatch(/^cim_wake=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
    check();
  });

  it('wakes on POST: the up runs once with the requester recorded, and the page follows it to the application', async () => {
    await asleep();
    capture();
    const page = await ask('GET', '/', { token: alice() });
    const cookie = String(page.headers['set-cookie']).split(';')[0] ?? '';
    const t0 = Date.now();
    const post = await ask('POST', '/wake', { cookie, form: { csrf: csrfOf(page.body) } });
    expect(post.status).toBe(303);
    expect(post.headers.location).toBe('/?waking=1');
    // Claimed before the answer: the page the browser is sent to shows it waking (or woken).
    expect(w.bucket.json(WAKE)).toMatchObject({ user: 'alice@example.test', source: 'http' });
    await s.idle();
    expect(starts()).toBe(1);
    const wake = w.bucket.json(WAKE) as Record<string, string>;
    expect(wake).toMatchObject({
      user: 'alice@example.test',
      source: 'http',
      address: '127.0.0.1',
      user_agent: 'test-browser/1.0',
    });
    expect(Date.parse(wake.until as string) - Date.parse(wake.created as string)).toBe(90 * 60_000);
    expect(Date.parse(wake.created as string)).toBeGreaterThanOrEqual(t0 - 1000);
    const actions = w.bucket.json(`${P}/actions.json`) as Record<string, string>;
    expect(actions).toMatchObject({
      desired_state: 'up',
      jenkins_user: 'wake:alice@example.test',
      trigger: 'wake',
    });

    const status = await ask('GET', '/status', { cookie, accept: 'application/json' });
    expect(JSON.parse(status.body)).toMatchObject({
      state: 'awake',
      by: 'alice@example.test',
      url: APP,
      steps: [
        { name: 'database starting', status: 'done' },
        { name: 'database available', status: 'done' },
        { name: 'workloads ready', status: 'done' },
        { name: 'health answering', status: 'done' },
      ],
    });
    const after = await ask('GET', '/?waking=1', { cookie });
    expect(after.body).toContain(`<meta http-equiv="refresh" content="0;url=${APP}">`);
    expect(after.body).toContain(`href="${APP}"`);
    // cim history notes the requester on the wake's up.
    const io = capture();
    expect(await cim('history', '--customer', 'alpha', '--env', 'dev')).toBe(0);
    expect(io.out()).toContain(
      `wake:alice@example.test  up      succeeded  woken from the wake page by alice@example.test at 127.0.0.1 (test-browser/1.0) until ${wake.until}`,
    );
    // Its succeeded up is the next estimate.
    const next = await ask('GET', '/', { cookie });
    expect(next.body).toMatch(/Waking it takes about \d+ s \(up to \d+ s\), from 1 past wake\./);
  });

  it('shows the run’s steps from the lock while waking, with elapsed time and an inline script allowed by its nonce', async () => {
    await asleep();
    const down = (w.bucket.json(`${P}/actions.json`) as Record<string, string>).jenkins_build;
    const created = new Date(Date.now() - 30_000).toISOString();
    w.bucket.put(WAKE, {
      user: 'carol@example.test',
      created,
      until: new Date(Date.now() + 3_600_000).toISOString(),
      build: '20991231-000000-abcd',
      woke_from: down,
      source: 'http',
    });
    w.bucket.put(`${P}/lock.json`, {
      owner: 'local:x',
      build: '20991231-000000-abcd',
      step: 'Restore replicas',
    });
    const status = JSON.parse(
      (await ask('GET', '/status', { token: alice(), accept: 'application/json' })).body,
    );
    expect(status).toMatchObject({
      state: 'waking',
      by: 'carol@example.test',
      step: 'Restore replicas',
      url: null,
    });
    expect(status.steps.map((x: { status: string }) => x.status)).toEqual([
      'done',
      'done',
      'current',
      'pending',
    ]);
    expect(status.elapsedSeconds).toBeGreaterThanOrEqual(29);
    const page = await ask('GET', '/', { token: alice() });
    expect(page.body).toContain('<meta http-equiv="refresh" content="5;url=/?waking=1">');
    const nonce = /script-src 'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))?.[1];
    expect(nonce).toBeTruthy();
    expect(page.body).toContain(`<script nonce="${nonce}">`);
    expect(page.body).not.toContain('<form');
    // An API client gets 503 with Retry-After while it is not awake.
    const api = await ask('GET', '/', { token: alice(), accept: 'application/json' });
    expect(api.status).toBe(503);
    expect(Number(api.headers['retry-after'])).toBeGreaterThanOrEqual(5);
  });
});

describe('cim serve: hostile requests change nothing', () => {
  it('a crawler’s GET (no token, or any path) reads nothing and wakes nothing', async () => {
    await asleep();
    const check = unchanged();
    for (const path of ['/', '/wake', '/status', '/robots.txt'])
      expect((await ask('GET', path, {})).status).toBeGreaterThanOrEqual(401);
    expect((await ask('GET', '/wake', { token: alice() })).status).toBe(405);
    check();
  });

  it('refuses a POST without, or with a wrong, CSRF token', async () => {
    await asleep();
    const check = unchanged();
    expect((await ask('POST', '/wake', { token: alice(), form: {} })).status).toBe(403);
    expect((await ask('POST', '/wake', { token: alice(), form: { csrf: '1700000000.AAAA' } })).status).toBe(
      403,
    );
    // Another person's form: bound to the subject.
    const bobPage = await ask('GET', '/', { token: jwt({ sub: 'u-bob', groups: ['devs'] }) });
    expect(
      (await ask('POST', '/wake', { token: alice(), form: { csrf: csrfOf(bobPage.body) } })).status,
    ).toBe(403);
    check();
  });

  it('refuses expired, foreign-issuer, badly signed and unsigned tokens, and a person without the claim', async () => {
    await asleep();
    const page = await ask('GET', '/', { token: alice() });
    const csrf = csrfOf(page.body);
    const check = unchanged();
    const now = Math.floor(Date.now() / 1000);
    const good = alice();
    const [h, b] = good.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url')}.${b}.`;
    const cases: [string, string, number][] = [
      ['expired', jwt({ groups: ['devs'], exp: now - 120 }), 401],
      ['foreign issuer', jwt({ groups: ['devs'], iss: 'https://idp.evil.test' }, foreignKey.privateKey), 401],
      ['our issuer named, signed by another key', jwt({ groups: ['devs'] }, foreignKey.privateKey), 401],
      ['another audience', jwt({ groups: ['devs'], aud: 'other' }), 401],
      [
        'tampered payload',
        `${h}.${Buffer.from(JSON.stringify({ iss: issuer, aud: AUDIENCE, sub: 'u-alice', exp: now + 600, groups: ['admins', 'devs'] })).toString('base64url')}.${good.split('.')[2]}`,
        401,
      ],
      ['alg none', none, 401],
      ['without the claim', jwt({ groups: ['qa'] }), 403],
    ];
    for (const [what, token, status] of cases) {
      const got = await ask('POST', '/wake', { token, form: { csrf } });
      expect(got.status, what).toBe(status);
    }
    check();
  });

  it('answers 404 for an unknown host, and refuses a form of one environment posted to another’s host', async () => {
    await asleep();
    const check = unchanged();
    expect((await ask('GET', '/', { host: 'evil.example.test', token: alice() })).status).toBe(404);
    expect(
      (await ask('POST', '/wake', { host: '127.0.0.1', token: alice(), form: { csrf: 'x' } })).status,
    ).toBe(404);
    const bob = jwt({ sub: 'u-bob', email: 'bob@example.test', groups: ['devs'] });
    const alphaPage = await ask('GET', '/', { token: bob });
    expect(alphaPage.status).toBe(200);
    // beta/staging has its own rule (bob by email): the form is alpha's, so beta refuses it.
    expect(
      (await ask('POST', '/wake', { host: BETA, token: bob, form: { csrf: csrfOf(alphaPage.body) } })).status,
    ).toBe(403);
    // And its rule replaces the default: alice (devs) may not wake beta.
    expect((await ask('GET', '/', { host: BETA, token: alice() })).status).toBe(403);
    check();
    expect(w.bucket.json('eks-dev-cluster/beta/staging/wake.json')).toBeUndefined();
  });

  it('shows a rate-limit refusal on the page, with nothing written', async () => {
    await asleep();
    const at = new Date(Date.now() - 10 * 60_000).toISOString();
    w.bucket.put(`${P}/wake-ledger.json`, {
      wakes: [1, 2, 3, 4].map((i) => ({
        at,
        user: 'x',
        environment: 'alpha/dev',
        build: `2026120${i}-000000-0000`,
      })),
    });
    const page = await ask('GET', '/', { token: alice() });
    const check = unchanged();
    capture();
    const post = await ask('POST', '/wake', { token: alice(), form: { csrf: csrfOf(page.body) } });
    expect(post.status).toBe(409);
    expect(post.body).toMatch(/<p class="refused">rate limited: 4 wakes of alpha\/dev in the last hour/);
    await s.idle();
    check();
  });

  it('collapses 20 concurrent POSTs into one up', async () => {
    await asleep();
    capture();
    const page = await ask('GET', '/', { token: alice() });
    const csrf = csrfOf(page.body);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => ask('POST', '/wake', { token: alice(), form: { csrf } })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(303));
    await s.idle();
    expect(starts()).toBe(1);
    const ups = w.bucket.keys().filter((k) => k.startsWith(`${P}/index/`) && k.endsWith('-up.json'));
    expect(ups).toHaveLength(1);
  });
});
