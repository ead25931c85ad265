// Owns the wake page's requests, apart from any HTTP server (the CLI's `cim serve` gives it
// node:http's requests; a deployed endpoint can give it API Gateway's): what each route
// answers and which checks come before anything is read or started.
//   GET /        the page (HTML), or for an API client (Accept without text/html) 503 with
//                Retry-After while it is not awake; GET never changes anything.
//   GET /status  the progress as JSON.
//   POST /wake   token, rule, CSRF, host; then the wake (the same core as `cim wake`), and a
//                redirect to the page.
// The environment ALWAYS comes from the configured host map: an unknown host is 404 before the
// token is even looked at, and a request can name no environment of its own.
// Auth: `Authorization: Bearer <jwt>` (an auth proxy in front, or an API client), or the
// `cim_wake` cookie the page sets from such a header (HttpOnly, SameSite=Strict) so that the
// browser's form POST, which cannot carry a header, still brings the token.
import { randomBytes } from 'node:crypto';
import type { Environment } from '../config/schema.ts';
import { hostEntry, ruleFor, type WakeSettings } from '../config/wake.ts';
import type { SigningKeys } from '../gateways/signing-keys.ts';
import type { StateStore } from '../gateways/store.ts';
import type { LastChange } from '../records/legacy-state.ts';
import { clockTime, DEFAULT_WAKE_MINUTES, parseWakeDuration } from '../records/wake.ts';
import { csrfToken, csrfValid } from './csrf.ts';
import { type Eta, readEta } from './eta.ts';
import { contentSecurityPolicy, describeState, renderWakePage } from './page.ts';
import { applicationUrl, readWakeView, type WakeView } from './progress.ts';
import { allowedBy, type Claims, requesterOf, verifyToken } from './token.ts';

export const COOKIE = 'cim_wake';
const MAX_FORM_BYTES = 4096;
/** Retry-After without an estimate, and its bounds. */
const DEFAULT_RETRY_SECONDS = 60;

export interface WakeHttpRequest {
  method: string;
  /** Path and query as sent ("/?waking=1"). */
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  body: string;
  /** The peer's address. */
  address: string;
}

export interface WakeHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Requester {
  user: string;
  subject: string;
  address: string;
  userAgent: string | undefined;
}

/** What starting a wake answered: started (or joined: the claim collapses them), or refused. */
export type WakeStart = { kind: 'started' } | { kind: 'refused'; why: string };

export interface WakeEndpointDeps {
  settings: WakeSettings;
  environment(key: string): Environment;
  store(env: Environment): StateStore;
  keys: SigningKeys;
  /** The CSRF tokens' key: random per server unless given. */
  secret: Buffer;
  now(): Date;
  /** Starts the wake (in the background); answers once it is claimed or refused. */
  startWake(env: Environment, requester: Requester, minutes: number): Promise<WakeStart>;
}

const ETA_CACHE_MS = 60_000;

export function wakeEndpoint(deps: WakeEndpointDeps) {
  const minutes = parseWakeDuration(deps.settings.ttl ?? `${DEFAULT_WAKE_MINUTES}m`, 'wake.ttl');
  const etas = new Map<string, { at: number; eta: Eta | null }>();

  /** The estimate reads 30 days of rows: kept a minute, and until the environment's last change moves on. */
  async function etaOf(env: Environment, store: StateStore, last: LastChange | null): Promise<Eta | null> {
    const key = `${env.customer}/${env.environment} ${last?.build ?? ''} ${last?.result ?? ''}`;
    const now = deps.now().getTime();
    const hit = etas.get(key);
    if (hit && now - hit.at < ETA_CACHE_MS) return hit.eta;
    const eta = await readEta(store, env, deps.now());
    if (etas.size > 1000) etas.clear();
    etas.set(key, { at: now, eta });
    return eta;
  }

  async function authenticate(
    req: WakeHttpRequest,
    key: string,
  ): Promise<
    { ok: true; claims: Claims; fromHeader: string | null } | { ok: false; status: number; why: string }
  > {
    const auth = req.headers.authorization;
    const bearer = auth && /^Bearer [A-Za-z0-9._-]+$/.test(auth) ? auth.slice(7) : null;
    const token = bearer ?? cookieOf(req.headers.cookie, COOKIE);
    if (!token) return { ok: false, status: 401, why: 'sign in first: no token was sent' };
    const checked = await verifyToken(token, {
      issuer: deps.settings.issuer,
      audience: deps.settings.audience,
      keys: deps.keys,
      now: deps.now(),
    });
    if (!checked.ok) return { ok: false, status: 401, why: checked.why };
    const rule = ruleFor(deps.settings, key);
    if (!rule || !allowedBy(rule, checked.claims))
      return {
        ok: false,
        status: 403,
        why: `you may not wake ${key} (the token's ${rule?.claim ?? 'claims'} do not allow it)`,
      };
    return { ok: true, claims: checked.claims, fromHeader: bearer };
  }

  return async function handle(req: WakeHttpRequest): Promise<WakeHttpResponse> {
    const nonce = randomBytes(16).toString('base64');
    const host = hostOf(req.headers.host);
    const entry = host ? hostEntry(deps.settings, host) : null;
    const path = req.url.split('?')[0] ?? '/';
    if (!entry) return text(404, 'no wake page on this host');
    const route = `${req.method} ${path}`;
    if (!['GET /', 'HEAD /', 'GET /status', 'POST /wake'].includes(route))
      return route.endsWith(' /wake') || route.endsWith(' /') || route.endsWith(' /status')
        ? text(405, 'method not allowed')
        : text(404, 'not found');
    const auth = await authenticate(req, entry.key);
    const wantsHtml = /text\/html/.test(req.headers.accept ?? '');
    if (!auth.ok)
      return text(auth.status, auth.why, auth.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
    const env = deps.environment(entry.key);
    const store = deps.store(env);
    const appUrl = applicationUrl(env, entry.url);
    const view = () => readWakeView(store, env, (last) => etaOf(env, store, last), deps.now());
    const cookie = auth.fromHeader
      ? { 'set-cookie': `${COOKIE}=${auth.fromHeader}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600` }
      : {};

    if (route === 'GET /status') return json(200, statusBody(await view(), appUrl));

    if (route === 'POST /wake') {
      // The CSRF token before anything is read: a forged form changes nothing and reads nothing.
      const form = new URLSearchParams(req.body.length <= MAX_FORM_BYTES ? req.body : '');
      if (!csrfValid(deps.secret, form.get('csrf') ?? undefined, auth.claims.sub, entry.key, deps.now()))
        return text(403, 'the form is stale or not from this page: reload the page and press Wake again');
      const started = await deps.startWake(
        env,
        {
          user: requesterOf(auth.claims),
          subject: auth.claims.sub,
          address: req.address.slice(0, 64),
          userAgent: req.headers['user-agent']?.slice(0, 512) || undefined,
        },
        minutes,
      );
      if (started.kind === 'refused') return page(409, await view(), { refused: started.why });
      return {
        status: 303,
        headers: { location: '/?waking=1', 'cache-control': 'no-store', ...cookie },
        body: '',
      };
    }

    // GET /: the page, or for an API client 503 while it is not awake.
    const v = await view();
    if (!wantsHtml && v.state !== 'awake') {
      const retry = Math.max(5, Math.min(3600, v.leftSeconds ?? v.eta?.p50 ?? DEFAULT_RETRY_SECONDS));
      return {
        status: 503,
        headers: {
          'content-type': 'application/json',
          'retry-after': String(retry),
          'cache-control': 'no-store',
        },
        body: `${JSON.stringify(statusBody(v, appUrl))}\n`,
      };
    }
    if (!wantsHtml) return json(200, statusBody(v, appUrl));
    return page(200, v, { headers: cookie, afterWake: /[?&]waking=1(&|$)/.test(req.url) });

    function page(
      status: number,
      v: WakeView,
      o: { refused?: string; headers?: Record<string, string>; afterWake?: boolean },
    ): WakeHttpResponse {
      return {
        status,
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': contentSecurityPolicy(nonce),
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          ...(o.headers ?? {}),
        },
        body: renderWakePage({
          view: v,
          host: host ?? '',
          csrf: csrfToken(deps.secret, (auth as { claims: Claims }).claims.sub, entry?.key ?? '', deps.now()),
          nonce,
          appUrl,
          afterWake: o.afterWake ?? false,
          ...(o.refused ? { refused: o.refused } : {}),
        }),
      };
    }
  };
}

/** The progress as /status answers it. */
export function statusBody(v: WakeView, appUrl: string | null) {
  return {
    environment: v.environment,
    state: v.state,
    stateText: describeState(v),
    ...(v.wake ? { until: v.wake.until, untilText: clockTime(v.wake.until), by: v.wake.user } : {}),
    steps: v.steps,
    step: v.runStep,
    elapsedSeconds: v.elapsedSeconds,
    leftSeconds: v.leftSeconds,
    eta: v.eta,
    url: v.state === 'awake' ? appUrl : null,
  };
}

/** The Host header's name, lower case, without its port; null when it is not a plain host name. */
export function hostOf(header: string | undefined): string | null {
  const m = /^([A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?$/.exec(header ?? '');
  return m?.[1] ? m[1].toLowerCase().replace(/\.$/, '') : null;
}

function cookieOf(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      const value = v.join('=');
      return /^[A-Za-z0-9._-]+$/.test(value) ? value : null;
    }
  }
  return null;
}

const text = (status: number, body: string, headers: Record<string, string> = {}): WakeHttpResponse => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: `${body}\n`,
});

const json = (status: number, body: unknown): WakeHttpResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: `${JSON.stringify(body)}\n`,
});
