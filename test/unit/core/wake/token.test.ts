// The wake page's checks as pure functions: the JWT (alg pinned, issuer, audience, exp/nbf
// with 60 s of skew, signature by the issuer's key of that kid, a rotated-in key fetched once),
// the claim rules, the CSRF token, the estimate's quantiles and the wake section's load checks.
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import type { SigningKeys } from '#core/gateways/signing-keys';
import type { RunRow } from '#core/report/model';
import { csrfToken, csrfValid } from '#core/wake/csrf';
import { describeEta, etaOf } from '#core/wake/eta';
import { stageOfStep } from '#core/wake/progress';
import { allowedBy, verifyToken } from '#core/wake/token';

const ISS = 'https://idp.example.test';
const AUD = 'cim-wake';
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = new Date('2026-12-06T12:00:00Z');
const T = NOW.getTime() / 1000;

function sign(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: KeyObject = pair.privateKey,
) {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const h = part({ alg: 'RS256', kid: 'k1', ...header });
  const p = part({ iss: ISS, aud: AUD, sub: 's1', exp: T + 300, ...payload });
  return `${h}.${p}.${createSign('RSA-SHA256').update(`${h}.${p}`).sign(key).toString('base64url')}`;
}

/** The issuer's keys; counts the fetches of each kind. */
function keys(published: Record<string, KeyObject> = { k1: pair.publicKey }) {
  const asked = { cached: 0, refreshed: 0 };
  const k: SigningKeys = {
    async key(kid, refresh) {
      asked[refresh ? 'refreshed' : 'cached']++;
      return published[kid] ?? null;
    },
  };
  return { k, asked };
}
const check = (token: string, k: SigningKeys = keys().k, now = NOW) =>
  verifyToken(token, { issuer: ISS, audience: AUD, keys: k, now });

describe('verifyToken', () => {
  it('accepts a token of the issuer, for the audience (alone or in a list), in its time', async () => {
    expect(await check(sign({}))).toMatchObject({ ok: true, claims: { sub: 's1' } });
    expect(await check(sign({ aud: ['other', AUD] }))).toMatchObject({ ok: true });
  });

  it('allows 60 s of clock skew on exp and nbf, and not a second more', async () => {
    expect((await check(sign({ exp: T - 59 }))).ok).toBe(true);
    expect(await check(sign({ exp: T - 60 }))).toEqual({ ok: false, why: 'the token has expired' });
    expect((await check(sign({ nbf: T + 60 }))).ok).toBe(true);
    expect(await check(sign({ nbf: T + 61 }))).toEqual({ ok: false, why: 'the token is not valid yet' });
    expect(await check(sign({ exp: undefined }))).toEqual({ ok: false, why: 'the token has expired' });
  });

  it('refuses another issuer, another audience, another algorithm, no subject and a forged signature', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const why = async (t: string) => ((await check(t)) as { why: string }).why;
    expect(await why(sign({ iss: 'https://evil.test' }))).toBe('the token is from another issuer');
    expect(await why(sign({ aud: 'x' }))).toBe('the token is for another audience');
    expect(await why(sign({}, { alg: 'HS256' }))).toBe("the token's algorithm is not RS256");
    expect(await why(sign({}, { alg: 'none' }))).toBe("the token's algorithm is not RS256");
    expect(await why(sign({ sub: '' }))).toBe('the token has no subject');
    expect(await why(sign({}, {}, other.privateKey))).toBe('the token’s signature is not valid');
    expect(await why('a.b')).toBe('the token is not a JWT');
  });

  it('fetches the keys again once for an unknown kid (a rotated-in key), and refuses it if still unknown', async () => {
    const { k, asked } = keys();
    expect(await check(sign({}, { kid: 'k9' }), k)).toEqual({
      ok: false,
      why: 'the token is signed with a key the issuer does not publish',
    });
    expect(asked).toEqual({ cached: 1, refreshed: 1 });
  });

  it('looks at no key for a token it refuses on its claims', async () => {
    const { k, asked } = keys();
    await check(sign({ exp: T - 3600 }), k);
    expect(asked).toEqual({ cached: 0, refreshed: 0 });
  });
});

describe('allowedBy', () => {
  const claims = { sub: 's', email: 'a@x.test', groups: ['devs', 'qa'] };
  it('allows a string claim equal to a value, or a list claim holding one', () => {
    expect(allowedBy({ claim: 'email', values: ['a@x.test'] }, claims)).toBe(true);
    expect(allowedBy({ claim: 'groups', values: ['ops', 'qa'] }, claims)).toBe(true);
  });
  it('refuses a missing claim, another value, or a value of another type', () => {
    expect(allowedBy({ claim: 'roles', values: ['devs'] }, claims)).toBe(false);
    expect(allowedBy({ claim: 'groups', values: ['ops'] }, claims)).toBe(false);
    expect(allowedBy({ claim: 'admin', values: ['true'] }, { sub: 's', admin: true })).toBe(false);
  });
});

describe('CSRF tokens', () => {
  const secret = Buffer.alloc(32, 7);
  const t = csrfToken(secret, 's1', 'alpha/dev', NOW);
  it('holds for the same person and environment for an hour', () => {
    expect(csrfValid(secret, t, 's1', 'alpha/dev', new Date(NOW.getTime() + 3_599_000))).toBe(true);
    expect(csrfValid(secret, t, 's1', 'alpha/dev', new Date(NOW.getTime() + 3_601_000))).toBe(false);
  });
  it('is refused for another person, another environment, another secret, or altered', () => {
    expect(csrfValid(secret, t, 's2', 'alpha/dev', NOW)).toBe(false);
    expect(csrfValid(secret, t, 's1', 'beta/staging', NOW)).toBe(false);
    expect(csrfValid(Buffer.alloc(32, 8), t, 's1', 'alpha/dev', NOW)).toBe(false);
    expect(
      csrfValid(
        secret,
        t.replace(/^\d+/, (n) => String(Number(n) + 1)),
        's1',
        'alpha/dev',
        NOW,
      ),
    ).toBe(false);
    expect(csrfValid(secret, undefined, 's1', 'alpha/dev', NOW)).toBe(false);
  });
});

describe('the estimate', () => {
  const row = (seconds: number, o: Partial<RunRow> = {}): RunRow => ({
    customer: 'alpha',
    environment: 'dev',
    action: 'up',
    build: 'b',
    trigger: 'wake',
    user: 'u',
    startedAt: '2026-12-01T10:00:00.000Z',
    endedAt: new Date(Date.parse('2026-12-01T10:00:00.000Z') + seconds * 1000).toISOString(),
    outcome: 'succeeded',
    recordKey: 'k',
    ...o,
  });
  it('is p50 and p90 of the succeeded ups only', () => {
    const rows = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000].map((s) => row(s));
    rows.push(row(5000, { outcome: 'failed' }), row(5000, { action: 'down' }), row(5000, { endedAt: null }));
    expect(etaOf(rows)).toEqual({ p50: 500, p90: 900, samples: 10 });
    expect(describeEta(etaOf(rows))).toBe('about 8 min (up to 15 min), from 10 past wakes');
  });
  it('says there is none without history', () => {
    expect(etaOf([row(100, { outcome: 'refused' })])).toBeNull();
    expect(describeEta(null)).toMatch(/^an unknown time \(no estimate yet/);
  });
});

describe('the steps of a waking up', () => {
  it('follows the workflow states an up enters', () => {
    expect(
      ['Restore node groups', 'Start database', 'Check database', 'Await database started event'].map(
        stageOfStep,
      ),
    ).toEqual([0, 0, 0, 0]);
    expect(
      [
        'Restore StatefulSets',
        'Restore replicas',
        'Check deployments available',
        'Check autoscalers active',
      ].map(stageOfStep),
    ).toEqual([2, 2, 2, 2]);
    expect(['Check health', 'Resume CronJobs', 'Record result'].map(stageOfStep)).toEqual([3, 3, 3]);
  });
});

describe('the wake section of the configuration', () => {
  const base = {
    defaults: {
      cluster: 'c1',
      region: 'us-east-1',
      bucket: 'bucket-1',
      deployments: [{ name: 'web' }],
    },
    environments: { 'alpha/dev': {}, 'beta/staging': {} },
  };
  const wake = (o: Record<string, unknown>) => ({
    ...base,
    wake: {
      issuer: ISS,
      audience: AUD,
      hosts: { 'a.example.test': 'alpha/dev' },
      allow: { default: { claim: 'groups', values: ['devs'] } },
      ...o,
    },
  });
  const refusal = (data: unknown) => {
    try {
      parseConfig(data, 'env.yaml');
      return 'accepted';
    } catch (err) {
      return (err as Error).message;
    }
  };
  it('is optional, and accepted when complete', () => {
    expect(refusal(base)).toBe('accepted');
    expect(refusal(wake({ ttl: '90m' }))).toBe('accepted');
  });
  it('refuses a host naming an unknown environment, with the near names', () => {
    expect(refusal(wake({ hosts: { 'a.example.test': 'alpha/dve' } }))).toMatch(
      /^env\.yaml: wake\.hosts\["a\.example\.test"\] \("alpha\/dve"\) is not a configured environment \(did you mean alpha\/dev/,
    );
  });
  it('refuses a host whose environment nobody may wake', () => {
    expect(refusal(wake({ allow: { 'beta/staging': { claim: 'email', values: ['b@x.test'] } } }))).toMatch(
      /wake\.hosts\["a\.example\.test"\] names alpha\/dev, which has no rule under wake\.allow/,
    );
  });
  it('refuses a ttl past 12h, an upper-case host and a rule without values', () => {
    expect(refusal(wake({ ttl: '13h' }))).toContain('wake.ttl: must be at most 12h');
    expect(refusal(wake({ hosts: { 'A.example.test': 'alpha/dev' } }))).toContain(
      'must be a lower-case host name',
    );
    expect(refusal(wake({ allow: { default: { claim: 'groups', values: [] } } }))).toContain(
      'list at least one allowed value',
    );
  });
});
