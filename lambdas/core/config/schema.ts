// Owns the configuration: its schema (zod), validation errors that name the file, the
// path and the fix, and the environment catalog that resolves "customer/environment" into
// concrete resource names. Reading the file lives in config-file.ts (not needed in Lambda).
// Checks that zod cannot express (merged settings, resolved names, one environment against
// another, schedules against environments) run in parseConfig, so a mistake is refused when
// the file is read, not at 3 a.m.
import * as z from 'zod';
import { CimError, ErrorNames } from '../errors.ts';
import { fleetTimeoutSeconds, fleetTooLong, MAP_LIMITS } from '../fleet/capacity.ts';
import { timeZoneError, validateCron } from './cron.ts';
import { CALENDAR_NAME, IsoDate } from './holidays.ts';
import { KmsSetting, resolveTarget, type Target, TargetSettings, VpcSettings } from './organization.ts';
import {
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  labelKeyError,
  labelValueError,
  parseLabelSelector,
  patternError,
  type Selection,
  selectEnvironments,
  unknownEnvironmentMessage,
} from './selection.ts';

/** Names that end up in S3 keys and Kubernetes names: no '/', '..' or control characters. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PLACEHOLDERS = ['customer', 'environment', 'cluster', 'region', 'namespace'] as const;

const template = (what: string) =>
  z
    .string()
    .min(1)
    .refine(
      (s) =>
        [...s.matchAll(/\{([^}]*)\}/g)].every((m) =>
          (PLACEHOLDERS as readonly string[]).includes(m[1] ?? ''),
        ),
      {
        message: `${what}: unknown placeholder; use only {${PLACEHOLDERS.join('}, {')}}`,
      },
    );

/** One day: a longer wait is a mistake, and the lock (at most 7 days) must outlast all of them. */
export const MAX_WAIT_TIMEOUT_SECONDS = 86_400;
export const MAX_LOCK_TTL_SECONDS = 7 * 86_400;

const Wait = z
  .object({
    expectedSeconds: z
      .number()
      .int()
      .positive()
      .max(MAX_WAIT_TIMEOUT_SECONDS)
      .describe('How long this usually takes; the checks are scheduled around it. At most timeoutSeconds.'),
    timeoutSeconds: z
      .number()
      .int()
      .positive()
      .max(MAX_WAIT_TIMEOUT_SECONDS, 'at most 86400 (one day)')
      .describe('Give up (and fail the run) after this long.'),
  })
  .strict();

const Labels = z
  .record(
    z
      .string()
      .regex(LABEL_KEY_PATTERN, { error: (i) => labelKeyError(String(i.input)) ?? 'not a label key' }),
    z.string().regex(LABEL_VALUE_PATTERN, {
      error: (i) => labelValueError(String(i.input)) ?? 'not a label value',
    }),
  )
  .superRefine((labels, ctx) => {
    // The pattern cannot bound the prefix length (253).
    for (const k of Object.keys(labels)) {
      const why = labelKeyError(k);
      if (why) ctx.addIssue({ code: 'custom', path: [k], message: why });
    }
  })
  .describe('Labels for selecting environments ("tier: dev"); per-environment labels merge over defaults.');

const Deployment = z
  .object({
    name: z
      .string()
      .regex(NAME_PATTERN, 'must be a Kubernetes deployment name (lower-case letters, digits, "-")'),
    namespace: template('namespace').optional().describe('Defaults to the environment namespace.'),
    healthUrl: template('healthUrl')
      .optional()
      .describe('HTTP(S) URL that answers 2xx/3xx when the app is up.'),
  })
  .strict();

const Workload = z
  .object({
    kind: z.enum(['StatefulSet', 'CronJob'], {
      error: (i) =>
        `workload kind ${JSON.stringify(i.input)} is not known: use StatefulSet or CronJob (Deployments are listed under "deployments")`,
    }),
    name: z
      .string()
      .regex(NAME_PATTERN, 'must be a Kubernetes object name (lower-case letters, digits, "-")'),
    namespace: template('namespace').optional().describe('Defaults to the environment namespace.'),
  })
  .strict();

const DiscoverKind = z.enum(['Deployment', 'StatefulSet', 'CronJob'], {
  error: (i) =>
    `workload kind ${JSON.stringify(i.input)} is not known: use Deployment, StatefulSet or CronJob`,
});

const Discover = z
  .object({
    namespaces: z
      .array(template('namespace'))
      .min(1)
      .optional()
      .describe('Namespaces to look in; default: the environment namespace.'),
    labelSelector: z
      .string()
      .superRefine((s, ctx) => {
        try {
          parseLabelSelector(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `not a label selector: ${(err as Error).message}` });
        }
      })
      .optional()
      .describe('Kubernetes label selector, e.g. "tier=backend,team in (a,b)".'),
    kinds: z.array(DiscoverKind).min(1).optional().describe('Default: Deployment, StatefulSet, CronJob.'),
  })
  .strict()
  .describe(
    'Instead of listing workloads: every Deployment/StatefulSet/CronJob found at down, minus those annotated customer-infra-manager/exclude: "true".',
  );

const Database = z
  .object({
    kind: z.enum(['instance', 'cluster']).describe('"instance" for RDS, "cluster" for Aurora.'),
    identifier: template('database.identifier'),
  })
  .strict();

export const Settings = z
  .object({
    cluster: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'must be an EKS cluster name'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1'),
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (lower-case, 3-63 characters)'),
    bucketRegion: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
      .optional(),
    keyPrefix: template('keyPrefix').describe(
      'S3 key prefix of an environment; legacy: {cluster}/{customer}/{environment}',
    ),
    namespace: template('namespace'),
    database: Database,
    deployments: z.array(Deployment).min(1, 'list at least one deployment'),
    discover: Discover.optional(),
    workloads: z
      .array(Workload)
      .optional()
      .describe(
        'StatefulSets (scaled to 0 and back) and CronJobs (suspended and resumed) of the environment, next to its deployments.',
      ),
    nodegroups: z
      .array(
        z
          .string()
          .regex(
            /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/,
            'must be an EKS node group name (1-63 letters, digits, "-" or "_")',
          ),
      )
      .optional()
      .describe(
        'EKS managed node groups of the environment in its cluster: scaled to 0 last on down (max kept), restored first on up.',
      ),
    waits: z
      .object({
        databaseStart: Wait,
        databaseStop: Wait,
        deployments: Wait,
        health: Wait,
        nodegroups: Wait,
      })
      .strict(),
    lockTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(MAX_LOCK_TTL_SECONDS, 'at most 604800 (7 days)')
      .describe('Must exceed the longest run: up and down wait timeouts added up.'),
    healthTimeoutSeconds: z.number().positive().max(60),
    keda: z
      .boolean()
      .describe(
        'Pause KEDA ScaledObjects that target the scaled workloads (autoscaling.keda.sh/paused-replicas: "0") while down (default false).',
      ),
    jobsGraceSeconds: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .describe(
        'down: how long to wait for running Jobs of suspended CronJobs to finish before going on and reporting them (default 300).',
      ),
    maxReplicas: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .describe('Largest replica count accepted from a state record (default 100).'),
    labels: Labels.optional(),
    ...TargetSettings,
  })
  .strict();
export type Settings = z.infer<typeof Settings>;

const Override = Settings.extend({
  database: Database.partial().strict(),
  waits: z
    .object({
      databaseStart: Wait.partial(),
      databaseStop: Wait.partial(),
      deployments: Wait.partial(),
      health: Wait.partial(),
      nodegroups: Wait.partial(),
    })
    .partial()
    .strict(),
})
  .partial()
  .strict();

const Schedule = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 letters, digits, "_", "." or "-"'),
    action: z.enum(['up', 'down']),
    cron: z
      .string()
      .superRefine((cron, ctx) => {
        const why = validateCron(cron);
        if (why)
          ctx.addIssue({ code: 'custom', message: `"${cron}" is not an EventBridge Scheduler cron: ${why}` });
      })
      .describe(
        'EventBridge Scheduler cron, six fields: "minutes hours day-of-month month day-of-week year".',
      ),
    timeZone: z
      .string()
      .superRefine((tz, ctx) => {
        const why = timeZoneError(tz);
        if (why) ctx.addIssue({ code: 'custom', message: why });
      })
      .default('UTC')
      .describe('IANA time zone, e.g. Europe/Berlin.'),
    environments: z
      .array(
        z.string().superRefine((p, ctx) => {
          const why = patternError(p);
          if (why) ctx.addIssue({ code: 'custom', message: why });
        }),
      )
      .default([])
      .describe('Environment keys or globs ("alpha/dev", "*/dev"); OR-ed, then AND-ed with labels.'),
    labels: z
      .string()
      .superRefine((s, ctx) => {
        try {
          parseLabelSelector(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .optional()
      .describe('Label selector, e.g. "tier=dev,team!=payments" or "tier in (dev,staging)".'),
    skipDates: z
      .array(IsoDate)
      .optional()
      .describe('Dates (YYYY-MM-DD, in the schedule time zone) on which this schedule does not run.'),
    calendars: z
      .array(z.string().regex(CALENDAR_NAME, 'a calendar name: 1-64 letters, digits, "_", "." or "-"'))
      .optional()
      .describe('Names of shared calendars (top-level "calendars") whose dates this schedule skips.'),
    maxConcurrency: z
      .number()
      .int('an integer')
      .min(1, 'at least 1')
      .max(
        MAP_LIMITS.distributed,
        `at most ${MAP_LIMITS.distributed} (a Distributed Map's limit of child executions at once)`,
      )
      .optional()
      .describe(
        'Environments run at once by this schedule; default: sized to the account RDS API budget (README, "Fleets").',
      ),
    maxLatenessSeconds: z
      .number()
      .int('an integer')
      .min(60, 'at least 60')
      .max(86_400, 'at most 86400 (one day)')
      .optional()
      .describe(
        'A tick that reaches the fleet later than this (a delayed or retried delivery) is refused, nothing changed; default 3600.',
      ),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.environments.length === 0 && s.labels === undefined)
      ctx.addIssue({
        code: 'custom',
        message:
          'say which environments: give "environments" (keys or globs such as "*/dev"), "labels" (e.g. "tier=dev"), or both',
      });
  });
export type Schedule = z.infer<typeof Schedule>;

/** Which environments a schedule acts on. */
export function scheduleSelection(schedule: Pick<Schedule, 'environments' | 'labels'>): Selection {
  return { patterns: [...schedule.environments], labels: schedule.labels ?? null };
}

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

export const ConfigSchema = z
  .object({
    $schema: z.string().optional(),
    defaults: Override.describe('Settings shared by every environment.'),
    environments: z.record(z.string(), Override.nullable()).superRefine((r, ctx) => {
      if (Object.keys(r).length === 0)
        ctx.addIssue({ code: 'custom', message: 'describe at least one environment' });
      for (const key of Object.keys(r)) {
        const why = environmentKeyError(key);
        if (why) ctx.addIssue({ code: 'custom', path: [key], message: why });
      }
    }),
    schedules: z
      .array(Schedule)
      .superRefine((list, ctx) => {
        const seen = new Map<string, number>();
        list.forEach((s, i) => {
          const first = seen.get(s.name);
          if (first !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `"${s.name}" is already the name of schedules[${first}]; give each schedule its own name`,
            });
          else seen.set(s.name, i);
        });
      })
      .default([]),
    calendars: z
      .record(
        z.string().regex(CALENDAR_NAME, 'a calendar name: 1-64 letters, digits, "_", "." or "-"'),
        z.array(IsoDate),
      )
      .optional()
      .describe('Shared holiday calendars: name -> dates (YYYY-MM-DD) that schedules naming them skip.'),
    kubernetes: z
      .object({ kubeconfig: z.string().optional(), context: z.string().optional() })
      .strict()
      .default({})
      .describe('Local runs only: which kubeconfig and context the CLI uses. Lambdas always use EKS.'),
    stack: z
      .object({
        createBucket: z.boolean().default(true),
        eksAccessEntry: z.boolean().default(false),
        stackName: z.string().default('CustomerInfraManager'),
        notificationTopicArn: z
          .string()
          .regex(
            /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/,
            'an SNS topic ARN, e.g. arn:aws:sns:us-east-1:111122223333:cim-alerts',
          )
          .optional()
          .describe('Publish notifications to this existing SNS topic instead of one the stack creates.'),
        dashboard: z
          .boolean()
          .default(false)
          .describe('A CloudWatch dashboard: runs by result and duration, fleet runs, runs by environment.'),
        vpc: VpcSettings.optional(),
        kms: KmsSetting,
        noncurrentVersionDays: z
          .number()
          .int()
          .min(1)
          .max(3650)
          .default(30)
          .describe(
            'Days the state bucket keeps a replaced or deleted version (the lock, replaced records) before it expires (default 30).',
          ),
      })
      .strict()
      .default({
        createBucket: true,
        eksAccessEntry: false,
        stackName: 'CustomerInfraManager',
        dashboard: false,
        kms: 'none',
        noncurrentVersionDays: 30,
      }),
  })
  .strict();
export type Config = z.infer<typeof ConfigSchema>;

export interface WorkloadTarget {
  kind: 'StatefulSet' | 'CronJob';
  name: string;
  namespace: string;
}

export interface DeploymentTarget {
  name: string;
  namespace: string;
  healthUrl: string | null;
}

/** One customer environment with every name resolved. */
export interface Environment {
  customer: string;
  environment: string;
  cluster: string;
  region: string;
  bucket: string;
  bucketRegion: string;
  keyPrefix: string;
  namespace: string;
  database: { kind: 'instance' | 'cluster'; identifier: string };
  deployments: DeploymentTarget[];
  /** StatefulSets and CronJobs (none unless configured). */
  workloads: WorkloadTarget[];
  /** EKS managed node groups of the environment, in its cluster (none unless configured). */
  nodegroups: string[];
  /** Set when the environment discovers its workloads instead of listing them (see discovery.ts). */
  discover: {
    namespaces: string[];
    labelSelector: string | null;
    kinds: ('Deployment' | 'StatefulSet' | 'CronJob')[];
  } | null;
  waits: Settings['waits'];
  lockTtlSeconds: number;
  healthTimeoutSeconds: number;
  /** Largest replica count accepted from a state record. */
  maxReplicas: number;
  /** down: how long running Jobs of suspended CronJobs may take before they are only reported. */
  jobsGraceSeconds: number;
  /** Pause KEDA ScaledObjects targeting the scaled workloads while down. */
  keda: boolean;
  labels: Record<string, string>;
  /** Set when the cluster and database live in another account: the role the functions assume there. */
  target?: Target;
}

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
  // Every environment must resolve, each to its own records.
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
  checkOwnership(resolved, source);
  // Schedules must select at least one environment, and name only calendars that exist.
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
  return config;
}

type Path = readonly (string | number)[];

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

const WAITS = ['databaseStart', 'databaseStop', 'deployments', 'health', 'nodegroups'] as const;

/** Resolves one environment; unknown ones are refused with the closest known keys. */
export function resolveEnvironment(
  config: Config,
  customer: string,
  environment: string,
  source = 'configuration',
): Environment {
  const key = `${customer}/${environment}`;
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
  const s = checked.data;
  const at = (...path: Path) => settingOrigin(config, key, path);
  const refuse = (message: string) => {
    throw new CimError(ErrorNames.ConfigInvalid, `${source}: environment "${key}": ${message}`);
  };
  const values: Record<string, string> = { customer, environment, cluster: s.cluster, region: s.region };
  values.namespace = fillTemplate(s.namespace, values);
  const env: Environment = {
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
    labels: s.labels ?? {},
    ...withTarget(resolveTarget(s, (k) => at(k), refuse)),
  };
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
  for (const w of WAITS) {
    const { expectedSeconds, timeoutSeconds } = env.waits[w];
    if (expectedSeconds > timeoutSeconds) {
      refuse(
        `waits.${w}.expectedSeconds (${expectedSeconds}, from ${at('waits', w, 'expectedSeconds')}) is longer than its timeoutSeconds (${timeoutSeconds}, from ${at('waits', w, 'timeoutSeconds')}); the usual duration must fit within the deadline`,
      );
    }
  }
  // The lock must outlast the longest run, or a slow run could lose it to a second one.
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
  return env;
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

export function listEnvironments(config: Config): string[] {
  return Object.keys(config.environments).sort();
}

const withTarget = (target: Target | null) => (target ? { target } : {});

// --- keys and ownership ---------------------------------------------------------------------

/**
 * Bounds of one part of an environment key. Everything derived from a key must stay valid:
 * the namespace "{customer}-{environment}" is a DNS label (at most 63), and Step Functions
 * execution names (at most 80 of [A-Za-z0-9_-]) carry customer, environment and a build id
 * (up to 64) or a hash. Two parts of at most 24 characters leave room for all of them.
 */
export const MAX_KEY_PART = 24;
const KEY_PART = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Why `key` is not a "customer/environment" key, or null. */
export function environmentKeyError(key: string): string | null {
  const parts = key.split('/');
  const example = 'e.g. "alpha/dev"';
  if (parts.length !== 2) return `"${key.slice(0, 80)}" is not "customer/environment" (one "/"), ${example}`;
  for (const [what, part] of [
    ['customer', parts[0] ?? ''],
    ['environment', parts[1] ?? ''],
  ] as const) {
    if (part.length === 0 || part.length > MAX_KEY_PART)
      return `the ${what} part of "${key.slice(0, 80)}" has ${part.length} characters; keys are "customer/environment" with each part 1-${MAX_KEY_PART} characters (execution names, namespaces and S3 keys are built from them), ${example}`;
    if (!KEY_PART.test(part))
      return `keys are "customer/environment" in lower case: the ${what} part "${part}" of "${key}" must be letters a-z, digits and "-", beginning and ending with a letter or digit, ${example}`;
  }
  return null;
}

/**
 * Every resource an environment changes belongs to it alone: a down of one environment must
 * never stop another's database, scale its workloads or node groups, or read its records.
 * Resources are compared where AWS and Kubernetes make names unique: databases per account,
 * region and kind; namespaces and node groups per cluster (account and region); workloads by
 * namespace, kind and name (listed twice, even within one environment, is refused); records
 * by bucket and key prefix, where a prefix inside another's prefix also overlaps (listing one
 * environment's history would list the other's).
 */
export function checkOwnership(list: readonly { key: string; env: Environment }[], source: string): void {
  const owners = new Map<string, { key: string; what: string }>();
  const claim = (id: string, key: string, what: string) => {
    const other = owners.get(id);
    if (other === undefined) {
      owners.set(id, { key, what });
      return;
    }
    const both =
      other.key === key
        ? `environment "${key}" lists ${what} twice`
        : `environments "${other.key}" and "${key}" both own ${what}`;
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source}: ${both}; a run of one would change it for the other. Give each environment its own ${what.split(' ')[0]} (fix the entry under environments["${key}"] or the template under "defaults").`,
    );
  };
  for (const { key, env } of list) {
    const account = env.target?.account ?? 'default-account';
    const cluster = `${account}/${env.region}/${env.cluster}`;
    claim(
      `db:${account}/${env.region}/${env.database.kind}/${env.database.identifier}`,
      key,
      `database ${env.database.kind} "${env.database.identifier}" (${env.region}${env.target ? `, account ${env.target.account}` : ''})`,
    );
    const namespaces = new Set([
      env.namespace,
      ...env.deployments.map((d) => d.namespace),
      ...env.workloads.map((w) => w.namespace),
      ...(env.discover?.namespaces ?? []),
    ]);
    for (const ns of namespaces)
      claim(`ns:${cluster}/${ns}`, key, `namespace "${ns}" (cluster ${env.cluster})`);
    const workloads = [
      ...env.deployments.map((d) => ({ kind: 'Deployment', name: d.name, namespace: d.namespace })),
      ...env.workloads,
    ];
    for (const w of workloads)
      claim(`wl:${cluster}/${w.namespace}/${w.kind}/${w.name}`, key, `${w.kind} "${w.namespace}/${w.name}"`);
    for (const ng of env.nodegroups)
      claim(`ng:${cluster}/${ng}`, key, `node group "${ng}" (cluster ${env.cluster})`);
  }
  // Key prefixes: equal ones are refused by parseConfig already; a nested one overlaps too.
  const places = list
    .map(({ key, env }) => ({ key, bucket: env.bucket, prefix: `${env.keyPrefix}/` }))
    .sort((a, b) => (`${a.bucket}\u0000${a.prefix}` < `${b.bucket}\u0000${b.prefix}` ? -1 : 1));
  for (let i = 1; i < places.length; i++) {
    const a = places[i - 1];
    const b = places[i];
    if (a && b && a.bucket === b.bucket && b.prefix.startsWith(a.prefix))
      throw new CimError(
        ErrorNames.ConfigInvalid,
        `${source}: environments "${a.key}" and "${b.key}" overlap in bucket "${a.bucket}": keyPrefix "${b.prefix.slice(0, -1)}" lies inside "${a.prefix.slice(0, -1)}", so one environment's history and lock listings would include the other's records. Give each environment a keyPrefix that is not inside another's.`,
      );
  }
}
