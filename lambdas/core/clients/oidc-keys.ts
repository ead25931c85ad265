// Owns fetching an OpenID Connect issuer's signing keys: the discovery document
// ({issuer}/.well-known/openid-configuration), its jwks_uri, and the RSA keys in it, cached.
// A refresh (an unknown kid) fetches again at most once a minute, so a stream of tokens with
// made-up kids cannot make the page hammer the issuer.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { SigningKeys } from '../gateways/signing-keys.ts';

const TIMEOUT_MS = 5_000;
const MAX_BYTES = 256 * 1024;
const CACHE_MS = 60 * 60_000;
const MIN_REFRESH_MS = 60_000;

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  if (text.length > MAX_BYTES) throw new Error(`${url} answered more than ${MAX_BYTES} bytes`);
  return JSON.parse(text) as unknown;
}

export function oidcSigningKeys(issuer: string, now: () => number = Date.now): SigningKeys {
  let keys: Map<string, KeyObject> | null = null;
  let fetchedAt = 0;
  let inFlight: Promise<Map<string, KeyObject>> | null = null;

  async function load(): Promise<Map<string, KeyObject>> {
    const discovery = (await getJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)) as {
      issuer?: unknown;
      jwks_uri?: unknown;
    };
    // The document must be the issuer's own (OpenID Connect Discovery 1.0, section 4.3).
    if (discovery.issuer !== issuer)
      throw new Error(`the discovery document of ${issuer} names another issuer`);
    if (typeof discovery.jwks_uri !== 'string' || !/^https?:\/\//.test(discovery.jwks_uri))
      throw new Error(`the discovery document of ${issuer} has no jwks_uri`);
    const set = (await getJson(discovery.jwks_uri)) as { keys?: unknown };
    const out = new Map<string, KeyObject>();
    for (const jwk of Array.isArray(set.keys) ? set.keys : []) {
      const k = jwk as { kty?: unknown; kid?: unknown; use?: unknown; n?: unknown; e?: unknown };
      if (k.kty !== 'RSA' || typeof k.kid !== 'string' || (k.use !== undefined && k.use !== 'sig')) continue;
      if (typeof k.n !== 'string' || typeof k.e !== 'string') continue;
      try {
        out.set(k.kid, createPublicKey({ key: { kty: 'RSA', n: k.n, e: k.e }, format: 'jwk' }));
      } catch {
        // A key that does not parse verifies nothing: skipped.
      }
    }
    return out;
  }

  return {
    async key(kid, refresh) {
      const stale = !keys || now() - fetchedAt > CACHE_MS || (refresh && now() - fetchedAt > MIN_REFRESH_MS);
      if (stale) {
        inFlight ??= load().finally(() => {
          inFlight = null;
        });
        keys = await inFlight;
        fetchedAt = now();
      }
      return keys?.get(kid) ?? null;
    },
  };
}
