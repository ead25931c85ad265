// Owns the wake page's CSRF tokens: the page's form carries an HMAC of the person (subject),
// the environment and the time it was made, keyed by a secret only the server knows; a POST
// must bring one that is for the same person and environment and at most MAX_AGE old. A
// page of another environment, another person's page, or a forged or stale form is refused.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const CSRF_MAX_AGE_SECONDS = 60 * 60;

const mac = (secret: Buffer, subject: string, environment: string, issued: number) =>
  createHmac('sha256', secret)
    .update(JSON.stringify([subject, environment, issued]))
    .digest('base64url');

export function csrfToken(secret: Buffer, subject: string, environment: string, now: Date): string {
  const issued = Math.floor(now.getTime() / 1000);
  return `${issued}.${mac(secret, subject, environment, issued)}`;
}

export function csrfValid(
  secret: Buffer,
  token: string | undefined,
  subject: string,
  environment: string,
  now: Date,
): boolean {
  const m = /^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
  if (!m) return false;
  const issued = Number(m[1]);
  const age = now.getTime() / 1000 - issued;
  if (age < -60 || age > CSRF_MAX_AGE_SECONDS) return false;
  const want = Buffer.from(mac(secret, subject, environment, issued));
  const got = Buffer.from(m[2] ?? '');
  return want.length === got.length && timingSafeEqual(want, got);
}
