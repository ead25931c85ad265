// Owns the deployed wake page's side of API Gateway (issue 19): an HTTP API (payload format
// 2.0) request becomes the endpoint's WakeHttpRequest and its answer the API's result, and a
// wake is started through the environment workflow (wake/start.ts), never run in this
// process. The routes, the token, the claim rules and the CSRF check are endpoint.ts's, the
// same as `cim serve`'s: the JWT authorizer in front is a first gate, not the only one.
// - The host is the domain API Gateway routed the request on (requestContext.domainName, a
//   custom domain of the API), else the Host header; it is looked up in the configured host
//   map, and an unknown one is 404 before the token is looked at.
// - The source address is API Gateway's (requestContext.http.sourceIp): with a proxy in
//   front, the proxy's. X-Forwarded-For is not trusted: anyone can send one.
// - The CSRF key is the same in every instance of the function: derived from a secret the
//   stack generates (Secrets Manager) and hands the function in its encrypted environment.
import { createHmac } from 'node:crypto';
import type { Environment } from '../config/schema.ts';
import type { WakeSettings } from '../config/wake.ts';
import { CimError, ErrorNames, unprintableCharacter } from '../errors.ts';
import type { SigningKeys } from '../gateways/signing-keys.ts';
import type { StateStore } from '../gateways/store.ts';
import { type WakeHttpRequest, type WakeHttpResponse, wakeEndpoint } from './endpoint.ts';
import { type StartWakeDeps, startWake } from './start.ts';

/** The function's variable holding the CSRF secret (the stack's generated secret, resolved at deploy). */
export const CSRF_SECRET_VARIABLE = 'CIM_WAKE_CSRF_SECRET';
/** A request body larger than this is no wake form (the endpoint reads at most 4 KiB of it). */
export const MAX_BODY_BYTES = 16 * 1024;
const MIN_SECRET_CHARS = 32;

/** The parts of an API Gateway HTTP API (payload format 2.0) event the page reads. */
export interface HttpApiEvent {
  version?: string;
  rawPath?: string;
  rawQueryString?: string;
  cookies?: string[];
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: {
    domainName?: string;
    http?: { method?: string; path?: string; sourceIp?: string; userAgent?: string };
  };
}

export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  /** Payload 2.0 sets cookies from this list, not from a Set-Cookie header. */
  cookies?: string[];
  body: string;
  isBase64Encoded: false;
}

/** The CSRF key from the configured secret: HMAC-derived, so the stored secret is never the key itself. */
export function csrfKeyOf(secret: string | undefined): Buffer {
  if (!secret || secret.length < MIN_SECRET_CHARS)
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${CSRF_SECRET_VARIABLE} must hold the stack's generated secret (at least ${MIN_SECRET_CHARS} characters): deploy the wake endpoint with the CDK stack`,
    );
  return createHmac('sha256', secret).update('cim wake page CSRF v1').digest();
}

/** The request as the endpoint reads it, or null when its body is too large. */
export function requestOf(event: HttpApiEvent): WakeHttpRequest | null {
  const h: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) h[k.toLowerCase()] = v;
  const raw = event.body ?? '';
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return null;
  const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  // Payload 2.0 moves the Cookie header into `cookies`.
  const cookie = event.cookies?.length ? event.cookies.join('; ') : h.cookie;
  return {
    method: (event.requestContext?.http?.method ?? 'GET').toUpperCase(),
    url: `${path}${query}`,
    headers: {
      host: event.requestContext?.domainName ?? h.host,
      authorization: h.authorization,
      cookie,
      accept: h.accept,
      'user-agent': h['user-agent'] ?? event.requestContext?.http?.userAgent,
    },
    body,
    address: event.requestContext?.http?.sourceIp ?? 'unknown',
  };
}

/** The endpoint's answer as API Gateway sends it (a HEAD without its body). */
export function resultOf(res: WakeHttpResponse, method: string): HttpApiResult {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [k, v] of Object.entries(res.headers)) {
    if (k.toLowerCase() === 'set-cookie') cookies.push(v);
    else headers[k] = v;
  }
  return {
    statusCode: res.status,
    headers,
    ...(cookies.length ? { cookies } : {}),
    body: method === 'HEAD' ? '' : res.body,
    isBase64Encoded: false,
  };
}

export interface DeployedWakeDeps {
  settings: WakeSettings;
  environment(key: string): Environment;
  store(env: Environment): StateStore;
  keys: SigningKeys;
  /** From csrfKeyOf. */
  secret: Buffer;
  /** The environment workflow and the executions client. */
  start: Omit<StartWakeDeps, 'store' | 'now'>;
  now(): Date;
  /** Where a refused or failed start is told (the function's log). */
  log?(message: string, extra: Record<string, unknown>): void;
}

/** The function's request handler: one HTTP API event in, one result out. */
export function deployedWakeEndpoint(deps: DeployedWakeDeps) {
  const handle = wakeEndpoint({
    settings: deps.settings,
    environment: deps.environment,
    store: deps.store,
    keys: deps.keys,
    secret: deps.secret,
    now: deps.now,
    async startWake(env, requester, minutes) {
      const out = await startWake({ ...deps.start, store: deps.store, now: deps.now }, env, {
        minutes,
        source: 'http',
        requester: {
          user: requester.user,
          subject: requester.subject,
          address: requester.address,
          // A user agent is recorded only when it prints as sent; it never refuses a wake.
          ...(requester.userAgent && unprintableCharacter(requester.userAgent) === null
            ? { userAgent: requester.userAgent }
            : {}),
        },
      });
      deps.log?.('wake', { environment: `${env.customer}/${env.environment}`, user: requester.user, ...out });
      return out.outcome === 'refused' ? { kind: 'refused', why: out.why } : { kind: 'started' };
    },
  });
  return async (event: HttpApiEvent): Promise<HttpApiResult> => {
    const req = requestOf(event);
    if (!req)
      return resultOf(
        {
          status: 413,
          headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
          body: 'request too large\n',
        },
        'GET',
      );
    return resultOf(await handle(req), req.method);
  };
}
