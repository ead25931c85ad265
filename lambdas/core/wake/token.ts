// Owns checking the wake page's bearer tokens: a JWT signed RS256 by the configured OpenID
// Connect issuer (node:crypto only). The algorithm is pinned (a token saying "none" or HS256
// is refused before any key is looked at), the issuer and audience must match, exp and nbf
// are checked with 60 s of clock skew, and the signature with the issuer's key of that kid.
// Then the configured rule: the claim (a string, or a list such as groups) must hold one of
// the allowed values. Every refusal says why, for the page and the server's log; none says
// which part of a forged token was right.
import { verify } from 'node:crypto';
import type { WakeRule } from '../config/wake.ts';
import type { SigningKeys } from '../gateways/signing-keys.ts';

export const CLOCK_SKEW_SECONDS = 60;
/** A JWT larger than this is not one an issuer made for a person. */
const MAX_TOKEN_CHARS = 16 * 1024;

export type Claims = Record<string, unknown> & { sub: string };
export type TokenCheck = { ok: true; claims: Claims } | { ok: false; why: string };

const b64url = /^[A-Za-z0-9_-]*$/;

function decodePart(part: string): Record<string, unknown> | null {
  if (!b64url.test(part)) return null;
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const audienceHolds = (aud: unknown, audience: string) =>
  aud === audience || (Array.isArray(aud) && aud.includes(audience));

export async function verifyToken(
  token: string,
  expect: { issuer: string; audience: string; keys: SigningKeys; now: Date },
): Promise<TokenCheck> {
  const refuse = (why: string): TokenCheck => ({ ok: false, why });
  if (token.length > MAX_TOKEN_CHARS) return refuse('the token is too large');
  const parts = token.split('.');
  if (parts.length !== 3) return refuse('the token is not a JWT');
  const [h = '', p = '', s = ''] = parts;
  const header = decodePart(h);
  const payload = decodePart(p);
  if (!header || !payload || !b64url.test(s)) return refuse('the token is not a JWT');
  if (header.alg !== 'RS256') return refuse(`the token's algorithm is not RS256`);
  if (typeof header.kid !== 'string') return refuse('the token names no key (kid)');
  // The claims first: cheap, and an expired or foreign token is refused without a key fetch.
  if (payload.iss !== expect.issuer) return refuse('the token is from another issuer');
  if (!audienceHolds(payload.aud, expect.audience)) return refuse('the token is for another audience');
  const t = expect.now.getTime() / 1000;
  if (typeof payload.exp !== 'number' || payload.exp + CLOCK_SKEW_SECONDS <= t)
    return refuse('the token has expired');
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf - CLOCK_SKEW_SECONDS > t))
    return refuse('the token is not valid yet');
  if (typeof payload.sub !== 'string' || payload.sub === '') return refuse('the token has no subject');
  let key = await expect.keys.key(header.kid, false);
  key ??= await expect.keys.key(header.kid, true);
  if (!key) return refuse('the token is signed with a key the issuer does not publish');
  const good = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  if (!good) return refuse('the token’s signature is not valid');
  return { ok: true, claims: payload as Claims };
}

/** Does the configured rule let this person wake? The claim, or one of its entries, must be allowed. */
export function allowedBy(rule: WakeRule, claims: Claims): boolean {
  const v = claims[rule.claim];
  const held = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  return held.some((x) => rule.values.includes(x));
}

/** Who the person is, as recorded: the email when the token carries one, else the subject. */
export function requesterOf(claims: Claims): string {
  const email = claims.email;
  return typeof email === 'string' && email.length > 0 && email.length <= 120
    ? email
    : claims.sub.slice(0, 120);
}
