// Owns the environment catalog: parseConfig validates the file's data and runs the checks zod
// cannot express (merged settings, resolved names, one environment against another, schedules
// against environments), so a mistake is refused when the file is read, not at 3 a.m.;
// resolveEnvironment merges an environment's settings over the defaults and resolves
// "customer/environment" into concrete resource names. Errors name the file, the path of the
// setting (its own entry, defaults or built in) and the fix.
import type * as z from 'zod';
import { CimError, ErrorNames } from '../errors.ts';
import { fleetTimeoutSeconds, fleetTooLong } from '../fleet/capacity.ts';
import { unknownEnvironmentMessage } from './did-you-mean.ts';
import { checkOwnership } from './ownership.ts';
import { scheduleSelection } from './schedules.ts';
import { type Config, ConfigSchema, type Environment, NAME_PATTERN, Settings } from './schema.ts';
import { selectEnvironments } from './selection.ts';
import { resolveTarget, type Target } from './targets.ts';
import { checkWakeSettings } from './wake.ts';

export const DEFAULT_SETTINGS: Omit<Settings, 'cluster' | 'region' | 'bucket' | 'deployments'> = {
  keyPrefix: '{cluster}/{customer}/{environment}',
  namespace: '{customer}-{environment}',
  database: { kind: 'instance', identifier: '{customer}-{environment}-rds' },
  waits: {
    databaseStart: { expectedSeconds: 480, timeoutSeconds: 3600 },
    databaseStop: { expectedSeconds: 300, timeoutSeconds: 3600 },
    deployments: { expectedSeconds: 120, timeoutSeconds: 900 },
    health: { expectedSeconds: 30, timeoutSeconds: 600 },
    nodegroups: { expectedSeconds: 240, timeoutSeconds: 1800 },
  },
  lockTtlSeconds: 4 * 3600,
  healthTimeoutSeconds: 5,
  maxReplicas: 100,
  jobsGraceSeconds: 300,
  keda: false,
};

const WAITS = ['databaseStart', 'databaseStop', 'deployments', 'health', 'nodegroups'] as const;

type Path = readonly (string | number)[];
/** Where a setting of the environment being resolved comes from, as a path in the file. */
type SettingAt = (...path: Path) => string;
/** Refuses the environment being resolved: throws ConfigInvalid naming the file and the key. */
type Refuse = (message: string) => never;

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) =>
      typeof p === 'number'
        ? `[${p}]`
        : /^[A-Za-z_$][\w$]*$/.test(String(p))
          ? `${i ? '.' : ''}${String(p)}`
          : `["${String(p)}"]`,
    )
    .join('');
}

function issueMessage(issue: z.core.$ZodIssue): string {
  // A bad record key (a label) carries the useful message one level down.
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  return issue.message;
}

/** Validates parsed config data; `source` names the file in messages. */
export function parseConfig(data: unknown, source: string): Config {
  const parsed = ConfigSchema.safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues
      .slice(0, 8)
      .map((i) => `  - ${formatPath(i.path) || '(top level)'}: ${issueMessage(i)}`);
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source} is not a valid configuration:\n${lines.join('\n')}\nFix these entries (the JSON Schema in schemas/environments.schema.json lists every field).`,
    );
  }
  const config = parsed.data;
  checkOwnership(resolveAll(config, source), source);
  checkSchedules(config, source);
  checkWakeSettings(config.wake, Object.keys(config.environments), source);
  return config;
}

/** Every environment must resolve, each to its own records. */
function resolveAll(config: Config, source: string): { key: string; env: Environment }[] {
  const owners = new Map<string, string>();
  const resolved: { key: string; env: Environment }[] = [];
  for (const key of Object.keys(config.environments)) {
    const [customer = '', environment = ''] = key.split('/');
    const env = resolveEnvironment(config, customer, environment, source);
    const place = `${env.bucket}/${env.keyPrefix}`;
    const other = owners.get(place);
    if (other !== undefined) {
      throw new CimError(
        ErrorNames.ConfigInvalid,
        `${source}: environments "${other}" and "${key}" both resolve to keyPrefix "${env.keyPrefix}" in bucket "${env.bucket}"; each environment needs its own keyPrefix, or one environment's up would consume the other's restore point. Keep {customer} and {environment} in ${settingOrigin(config, key, ['keyPrefix'])}.`,
      );
    }
    owners.set(place, key);
    resolved.push({ key, env });
  }
  return resolved;
}

/** Schedules must select at least one environment, and name only calendars that exist. */
function checkSchedules(config: Config, source: string): void {
  config.schedules.forEach((s, i) => {
    (s.calendars ?? []).forEach((name, j) => {
      if (!config.calendars?.[name]) {
        const known = Object.keys(config.calendars ?? {});
        throw new CimError(
          ErrorNames.ConfigInvalid,
          `${source}: schedules[${i}].calendars[${j}] ("${name}") is not a calendar under "calendars" (${known.length ? `known: ${known.slice(0, 3).join(', ')}` : 'none is defined'}). Define it there or fix the name.`,
        );
      }
    });
    try {
      const keys = selectEnvironments(config, scheduleSelection(s), source);
      const tooLong =
        s.maxConcurrency === undefined
          ? null
          : fleetTooLong(
              keys.length,
              s.maxConcurrency,
              fleetTimeoutSeconds(Object.keys(config.environments).length),
            );
      if (tooLong)
        throw new CimError(
          ErrorNames.ConfigInvalid,
          `${source}: schedules[${i}] ("${s.name}"): ${tooLong}. Fix schedules[${i}].maxConcurrency.`,
        );
    } catch (err) {
      if (!(err instanceof CimError) || err.name !== ErrorNames.SelectionInvalid) throw err;
      throw new CimError(
        ErrorNames.ConfigInvalid,
        `${source}: schedules[${i}] ("${s.name}"): ${err.message.replace(/\.$/, '')}. Fix schedules[${i}].environments or schedules[${i}].labels.`,
        { cause: err },
      );
    }
  });
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** Where a setting of an environment comes from: its own entry, defaults, or built in. */
function settingOrigin(config: Config, key: string, path: Path): string {
  if (valueAt(config.environments[key], path) !== undefined)
    return formatPath(['environments', key, ...path]);
  if (valueAt(config.defaults, path) !== undefined) return formatPath(['defaults', ...path]);
  return `${formatPath(['defaults', ...path])} (built-in default)`;
}

export function fillTemplate(tpl: string, values: Record<string, string>): string {
  return tpl.replace(/\{([a-z]+)\}/g, (_, k: string) => values[k] ?? `{${k}}`);
}

/** Resolves one environment; unknown ones are refused with the closest known keys. */
export function resolveEnvironment(
  config: Config,
  customer: string,
  environment: string,
  source = 'configuration',
): Environment {
  const key = `${customer}/${environment}`;
  const s = mergedSettings(config, key, source);
  const at: SettingAt = (...path) => settingOrigin(config, key, path);
  const refuse: Refuse = (message) => {
    throw new CimError(ErrorNames.ConfigInvalid, `${source}: environment "${key}": ${message}`);
  };
  const env = resolveNames(customer, environment, s, at, refuse);
  checkResolvedNames(env, at, refuse);
  checkWorkloads(env, at, refuse);
  checkWaits(env, at, refuse);
  checkLockOutlastsRuns(env, at, refuse);
  return env;
}

/** The environment's own settings over those under defaults over the built-in ones, complete. */
function mergedSettings(config: Config, key: string, source: string): Settings {
  if (!Object.hasOwn(config.environments, key)) {
    throw new CimError(
      ErrorNames.UnknownEnvironment,
      `${unknownEnvironmentMessage(key, Object.keys(config.environments), source)}. Add it under "environments" or check --customer/--env.`,
    );
  }
  const o = config.environments[key] ?? {};
  const d = config.defaults;
  const merged = {
    ...DEFAULT_SETTINGS,
    ...d,
    ...o,
    database: { ...DEFAULT_SETTINGS.database, ...d.database, ...o.database },
    waits: Object.fromEntries(
      WAITS.map((w) => [w, { ...DEFAULT_SETTINGS.waits[w], ...d.waits?.[w], ...o.waits?.[w] }]),
    ),
    labels: { ...d.labels, ...o.labels },
  };
  const checked = Settings.safeParse(merged);
  if (!checked.success) {
    const lines = checked.error.issues.map((i) => `  - ${formatPath(i.path)}: ${issueMessage(i)}`);
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source}: environment "${key}" is incomplete after merging defaults:\n${lines.join('\n')}\nSet these under "defaults" or under environments["${key}"].`,
    );
  }
  return checked.data;
}

/** Fills the templates ({customer}, {environment}, {cluster}, {region}, {namespace}). */
function resolveNames(
  customer: string,
  environment: string,
  s: Settings,
  at: SettingAt,
  refuse: Refuse,
): Environment {
  const values: Record<string, string> = { customer, environment, cluster: s.cluster, region: s.region };
  values.namespace = fillTemplate(s.namespace, values);
  return {
    customer,
    environment,
    cluster: s.cluster,
    region: s.region,
    bucket: s.bucket,
    bucketRegion: s.bucketRegion ?? s.region,
    keyPrefix: fillTemplate(s.keyPrefix, values).replace(/\/+$/, ''),
    namespace: values.namespace,
    database: { kind: s.database.kind, identifier: fillTemplate(s.database.identifier, values) },
    deployments: s.deployments.map((dep) => ({
      name: dep.name,
      namespace: dep.namespace ? fillTemplate(dep.namespace, values) : (values.namespace ?? ''),
      healthUrl: dep.healthUrl ? fillTemplate(dep.healthUrl, values) : null,
    })),
    workloads: (s.workloads ?? []).map((w) => ({
      kind: w.kind,
      name: w.name,
      namespace: w.namespace ? fillTemplate(w.namespace, values) : (values.namespace ?? ''),
    })),
    nodegroups: [...new Set(s.nodegroups ?? [])],
    discover: s.discover
      ? {
          namespaces: (s.discover.namespaces ?? ['{namespace}']).map((n) => fillTemplate(n, values)),
          labelSelector: s.discover.labelSelector ?? null,
          kinds: s.discover.kinds ?? ['Deployment', 'StatefulSet', 'CronJob'],
        }
      : null,
    waits: s.waits,
    lockTtlSeconds: s.lockTtlSeconds,
    healthTimeoutSeconds: s.healthTimeoutSeconds,
    maxReplicas: s.maxReplicas,
    jobsGraceSeconds: s.jobsGraceSeconds,
    keda: s.keda,
    sleepingBackend: s.sleepingBackend ?? null,
    labels: s.labels ?? {},
    ...withTarget(resolveTarget(s, (k) => at(k), refuse)),
  };
}

const withTarget = (target: Target | null) => (target ? { target } : {});

/** Resolved names must still be names: namespaces, the key prefix, the deployments' health URLs. */
function checkResolvedNames(env: Environment, at: SettingAt, refuse: Refuse): void {
  if (!NAME_PATTERN.test(env.namespace)) {
    refuse(
      `resolves namespace "${env.namespace}", which is not a valid Kubernetes namespace (lower-case letters, digits and "-", at most 63); fix ${at('namespace')}`,
    );
  }
  if (env.keyPrefix.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    refuse(
      `resolves keyPrefix "${env.keyPrefix}", which has an empty, "." or ".." segment; fix ${at('keyPrefix')}`,
    );
  }
  env.deployments.forEach((dep, i) => {
    if (!NAME_PATTERN.test(dep.namespace)) {
      refuse(
        `deployment "${dep.name}" resolves namespace "${dep.namespace}", which is not a valid Kubernetes namespace (lower-case letters, digits and "-", at most 63); fix ${at('deployments', i, 'namespace')}`,
      );
    }
    if (dep.healthUrl !== null && hasCredentials(dep.healthUrl)) {
      refuse(
        `deployment "${dep.name}" has a healthUrl with credentials ("user:password@"); they would be copied into every state record. Remove them from ${at('deployments', i, 'healthUrl')}: the health check must answer without credentials`,
      );
    }
    if (dep.healthUrl !== null && !isHttpUrl(dep.healthUrl)) {
      refuse(
        `deployment "${dep.name}" resolves healthUrl "${dep.healthUrl}", which is not an absolute http(s) URL; fix ${at('deployments', i, 'healthUrl')}, e.g. "https://${dep.name}-{environment}-{customer}.example.com/healthz"`,
      );
    }
  });
  env.discover?.namespaces.forEach((ns, i) => {
    if (!NAME_PATTERN.test(ns))
      refuse(
        `discover.namespaces[${i}] resolves to "${ns}", which is not a valid Kubernetes namespace; fix ${at('discover', 'namespaces', i)}`,
      );
  });
}

/** "user:password@" (or "user@") in a URL: a secret that records and logs must never carry. */
function hasCredentials(s: string): boolean {
  try {
    const url = new URL(s);
    return url.username !== '' || url.password !== '';
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(s);
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const url = new URL(s);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** StatefulSets and CronJobs: each in a valid namespace, each listed once. */
function checkWorkloads(env: Environment, at: SettingAt, refuse: Refuse): void {
  const seenWorkloads = new Map<string, number>();
  env.workloads.forEach((w, i) => {
    if (!NAME_PATTERN.test(w.namespace)) {
      refuse(
        `${w.kind} "${w.name}" resolves namespace "${w.namespace}", which is not a valid Kubernetes namespace (lower-case letters, digits and "-", at most 63); fix ${at('workloads', i, 'namespace')}`,
      );
    }
    // Records key each kind by name (as k8s_deployments does): one name per kind.
    const first = seenWorkloads.get(`${w.kind}/${w.name}`);
    if (first !== undefined) {
      refuse(
        `${w.kind} "${w.name}" is listed twice (workloads[${first}] and workloads[${i}]); list each once, fix ${at('workloads', i)}`,
      );
    }
    seenWorkloads.set(`${w.kind}/${w.name}`, i);
  });
}

/** Each wait's usual duration fits within its deadline. */
function checkWaits(env: Environment, at: SettingAt, refuse: Refuse): void {
  for (const w of WAITS) {
    const { expectedSeconds, timeoutSeconds } = env.waits[w];
    if (expectedSeconds > timeoutSeconds) {
      refuse(
        `waits.${w}.expectedSeconds (${expectedSeconds}, from ${at('waits', w, 'expectedSeconds')}) is longer than its timeoutSeconds (${timeoutSeconds}, from ${at('waits', w, 'timeoutSeconds')}); the usual duration must fit within the deadline`,
      );
    }
  }
}

/** The lock must outlast the longest run, or a slow run could lose it to a second one. */
function checkLockOutlastsRuns(env: Environment, at: SettingAt, refuse: Refuse): void {
  const t = (w: (typeof WAITS)[number]) => env.waits[w].timeoutSeconds;
  // StatefulSets are waited for with the deployments' wait, in a phase of their own.
  const sts = env.workloads.some((w) => w.kind === 'StatefulSet') ? 2 : 1;
  const ng = env.nodegroups.length ? t('nodegroups') : 0;
  const ngPart = ng ? ` + nodegroups ${ng}` : '';
  // Up also waits for the HorizontalPodAutoscalers, with the deployments' wait in a phase of
  // its own: whether an environment has any is known only at run time, so it always counts.
  const upDeployments = sts + 1;
  const paths = [
    {
      name: 'up',
      total: ng + t('databaseStart') + upDeployments * t('deployments') + t('health'),
      parts: `databaseStart ${t('databaseStart')} + ${upDeployments} × deployments ${t('deployments')} (${sts === 2 ? 'StatefulSets, deployments, autoscalers' : 'deployments, autoscalers'}) + health ${t('health')}${ngPart}`,
    },
    {
      name: 'down',
      total: sts * t('deployments') + t('databaseStop') + ng,
      parts: `${sts === 2 ? '2 × ' : ''}deployments ${t('deployments')} + databaseStop ${t('databaseStop')}${ngPart}`,
    },
  ].sort((a, b) => b.total - a.total);
  const longest = paths[0];
  if (longest && env.lockTtlSeconds <= longest.total) {
    refuse(
      `lockTtlSeconds (${env.lockTtlSeconds}) is shorter than the longest run: ${longest.name} waits up to ${longest.total} s (${longest.parts} timeoutSeconds); raise ${at('lockTtlSeconds')} above ${longest.total} or lower those timeouts`,
    );
  }
}

export function listEnvironments(config: Config): string[] {
  return Object.keys(config.environments).sort();
}
