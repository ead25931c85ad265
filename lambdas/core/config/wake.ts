// Owns the `wake` section of the configuration (issue 19, the wake page): which host names
// serve the wake page of which environment, the OpenID Connect issuer and audience whose
// tokens are accepted, who may wake which environment, and how long a wake from the page
// lasts. The environment always comes from the host map, never from the request; each
// host's environment must be configured and must have a rule (its own or the default), so a
// page nobody may use, or one anyone may use, is refused at load.
import * as z from 'zod';
import { CimError, ErrorNames } from '../errors.ts';
import { closestNames } from './did-you-mean.ts';

const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const CLAIM = /^[A-Za-z0-9_:.-]{1,64}$/;

const HostEntry = z.union([
  z.string().describe('The environment key, such as alpha/dev.'),
  z
    .object({
      environment: z.string().describe('The environment key, such as alpha/dev.'),
      url: z
        .url({ protocol: /^https?$/ })
        .optional()
        .describe("Where the page sends people once it is awake (default: its first health URL's origin)."),
    })
    .strict(),
]);

export const WakeRule = z
  .object({
    claim: z
      .string()
      .regex(CLAIM, 'must be a token claim name such as email, groups or sub')
      .describe('The claim of the token that is checked: a string, or a list of strings (groups).'),
    values: z
      .array(z.string().min(1).max(256))
      .min(1, 'list at least one allowed value')
      .describe('Allowed values: the claim (or one of its entries) must equal one of them.'),
  })
  .strict();
export type WakeRule = z.infer<typeof WakeRule>;

export const WakeSettings = z
  .object({
    issuer: z
      .url({ protocol: /^https?$/ })
      .describe('The OpenID Connect issuer; its keys come from {issuer}/.well-known/openid-configuration.'),
    audience: z.string().min(1).max(256).describe('The aud the tokens must carry (the client id).'),
    hosts: z
      .record(
        z.string().regex(HOST, 'must be a lower-case host name such as alpha-dev.example.test'),
        HostEntry,
      )
      .refine((h) => Object.keys(h).length > 0, 'map at least one host to an environment')
      .describe('Host name of the page -> the environment it wakes (never taken from the request).'),
    allow: z
      .record(z.string(), WakeRule)
      .describe(
        'Who may wake: "default", or an environment key for a rule of its own (replaces the default).',
      ),
    certificateArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate\/[A-Za-z0-9-]+$/,
        'must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)',
      )
      .optional()
      .describe(
        "Deployed page: an ACM certificate (in the stack's region) covering every host; each host then becomes a custom domain of the wake API.",
      ),
    ttl: z
      .string()
      .regex(/^[1-9][0-9]{0,4}[mh]$/, 'must be whole minutes or hours such as 90m or 2h')
      // The same bound as records/wake.ts's MAX_WAKE_MINUTES (not imported: config stays below records).
      .refine((s) => Number.parseInt(s, 10) * (s.endsWith('h') ? 60 : 1) <= 12 * 60, 'must be at most 12h')
      .optional()
      .describe('How long a wake from the page lasts (default 2h, at most 12h).'),
  })
  .strict()
  .describe('The wake page served by `cim serve` and by the deployed wake API (issue 19).');
export type WakeSettings = z.infer<typeof WakeSettings>;

/** A host's environment and where the application answers (configured, or null: from its health URL). */
export function hostEntry(settings: WakeSettings, host: string): { key: string; url: string | null } | null {
  const e = Object.hasOwn(settings.hosts, host) ? settings.hosts[host] : undefined;
  if (e === undefined) return null;
  return typeof e === 'string' ? { key: e, url: null } : { key: e.environment, url: e.url ?? null };
}

/** The rule for an environment: its own, else the default. */
export const ruleFor = (settings: WakeSettings, key: string): WakeRule | null =>
  (Object.hasOwn(settings.allow, key) ? settings.allow[key] : settings.allow.default) ?? null;

/** Cross-checks against the environments: each named one exists, and each host has a rule. */
export function checkWakeSettings(
  settings: WakeSettings | undefined,
  environments: readonly string[],
  source: string,
): void {
  if (!settings) return;
  const fail = (where: string, why: string) => {
    throw new CimError(ErrorNames.ConfigInvalid, `${source}: wake.${where} ${why}`);
  };
  const unknown = (key: string) => {
    const near = closestNames(key, environments);
    return `("${key}") is not a configured environment${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`;
  };
  for (const host of Object.keys(settings.hosts)) {
    const entry = hostEntry(settings, host);
    if (!entry) continue;
    if (!environments.includes(entry.key)) fail(`hosts["${host}"]`, unknown(entry.key));
    if (!ruleFor(settings, entry.key))
      fail(
        `hosts["${host}"]`,
        `names ${entry.key}, which has no rule under wake.allow: add wake.allow["${entry.key}"] or wake.allow.default, or nobody could wake it`,
      );
  }
  for (const key of Object.keys(settings.allow))
    if (key !== 'default' && !environments.includes(key)) fail(`allow["${key}"]`, unknown(key));
}
