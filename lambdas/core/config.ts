// Owns the configuration: its schema (zod), validation errors that name the file, the
// path and the fix, and the environment catalog that resolves "customer/environment" into
// concrete resource names. Reading the file lives in config-file.ts (not needed in Lambda).
import { z } from 'zod';
import { CimError, ErrorNames } from './errors.ts';

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

const Wait = z
  .object({
    expectedSeconds: z
      .number()
      .int()
      .positive()
      .describe('How long this usually takes; drives adaptive polling.'),
    timeoutSeconds: z.number().int().positive().describe('Give up (and fail the run) after this long.'),
  })
  .strict();

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

const Database = z
  .object({
    kind: z.enum(['instance', 'cluster']).describe('"instance" for RDS, "cluster" for Aurora.'),
    identifier: template('database.identifier'),
  })
  .strict();

const Settings = z
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
    waits: z.object({ databaseStart: Wait, databaseStop: Wait, deployments: Wait, health: Wait }).strict(),
    lockTtlSeconds: z.number().int().min(60),
    healthTimeoutSeconds: z.number().positive().max(60),
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
    })
    .partial()
    .strict(),
})
  .partial()
  .strict();

const Schedule = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    action: z.enum(['up', 'down']),
    cron: z
      .string()
      .regex(
        /^\S+ \S+ \S+ \S+ \S+ \S+$/,
        'six fields as in EventBridge Scheduler: "minutes hours day-of-month month day-of-week year"',
      ),
    timeZone: z.string().min(1).default('UTC'),
    environments: z.array(z.string()).min(1),
  })
  .strict();

export const DEFAULT_SETTINGS: Omit<Settings, 'cluster' | 'region' | 'bucket' | 'deployments'> = {
  keyPrefix: '{cluster}/{customer}/{environment}',
  namespace: '{customer}-{environment}',
  database: { kind: 'instance', identifier: '{customer}-{environment}-rds' },
  waits: {
    databaseStart: { expectedSeconds: 480, timeoutSeconds: 3600 },
    databaseStop: { expectedSeconds: 300, timeoutSeconds: 3600 },
    deployments: { expectedSeconds: 120, timeoutSeconds: 900 },
    health: { expectedSeconds: 30, timeoutSeconds: 600 },
  },
  lockTtlSeconds: 4 * 3600,
  healthTimeoutSeconds: 5,
};

export const ConfigSchema = z
  .object({
    $schema: z.string().optional(),
    defaults: Override.describe('Settings shared by every environment.'),
    environments: z.record(z.string(), Override.nullable()).superRefine((r, ctx) => {
      if (Object.keys(r).length === 0)
        ctx.addIssue({ code: 'custom', message: 'describe at least one environment' });
      for (const key of Object.keys(r)) {
        if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(key)) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'keys are "customer/environment" in lower case, e.g. "alpha/dev"',
          });
        }
      }
    }),
    schedules: z.array(Schedule).default([]),
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
      })
      .strict()
      .default({ createBucket: true, eksAccessEntry: false, stackName: 'CustomerInfraManager' }),
  })
  .strict();
export type Config = z.infer<typeof ConfigSchema>;

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
  waits: Settings['waits'];
  lockTtlSeconds: number;
  healthTimeoutSeconds: number;
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

/** Validates parsed config data; `source` names the file in messages. */
export function parseConfig(data: unknown, source: string): Config {
  const parsed = ConfigSchema.safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues
      .slice(0, 8)
      .map((i) => `  - ${formatPath(i.path) || '(top level)'}: ${i.message}`);
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source} is not a valid configuration:\n${lines.join('\n')}\nFix these entries (the JSON Schema in config/environments.schema.json lists every field).`,
    );
  }
  const config = parsed.data;
  // Fail now, not at 3 a.m.: every environment must resolve, and schedules must name known ones.
  for (const key of Object.keys(config.environments)) {
    const [customer = '', environment = ''] = key.split('/');
    resolveEnvironment(config, customer, environment, source);
  }
  for (const s of config.schedules) {
    for (const e of s.environments) {
      if (!(e in config.environments)) {
        throw new CimError(
          ErrorNames.ConfigInvalid,
          `${source}: schedules "${s.name}" names environment "${e}", which is not under environments (known: ${Object.keys(config.environments).join(', ')})`,
        );
      }
    }
  }
  return config;
}

export function fillTemplate(tpl: string, values: Record<string, string>): string {
  return tpl.replace(/\{([a-z]+)\}/g, (_, k: string) => values[k] ?? `{${k}}`);
}

/** Resolves one environment; unknown ones are refused with the list of known ones. */
export function resolveEnvironment(
  config: Config,
  customer: string,
  environment: string,
  source = 'configuration',
): Environment {
  const key = `${customer}/${environment}`;
  if (!(key in config.environments)) {
    const known = Object.keys(config.environments).sort();
    throw new CimError(
      ErrorNames.UnknownEnvironment,
      `environment "${key}" not found in ${source} (known: ${known.join(', ')}). Add it under "environments" or check --customer/--env.`,
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
      (['databaseStart', 'databaseStop', 'deployments', 'health'] as const).map((w) => [
        w,
        { ...DEFAULT_SETTINGS.waits[w], ...d.waits?.[w], ...o.waits?.[w] },
      ]),
    ),
  };
  const checked = Settings.safeParse(merged);
  if (!checked.success) {
    const lines = checked.error.issues.map((i) => `  - ${formatPath(i.path)}: ${i.message}`);
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source}: environment "${key}" is incomplete after merging defaults:\n${lines.join('\n')}\nSet these under "defaults" or under environments["${key}"].`,
    );
  }
  const s = checked.data;
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
    waits: s.waits,
    lockTtlSeconds: s.lockTtlSeconds,
    healthTimeoutSeconds: s.healthTimeoutSeconds,
  };
  if (!NAME_PATTERN.test(env.namespace)) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source}: environment "${key}" resolves namespace "${env.namespace}", which is not a valid Kubernetes namespace`,
    );
  }
  if (env.keyPrefix.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source}: environment "${key}" resolves keyPrefix "${env.keyPrefix}", which has an empty, "." or ".." segment`,
    );
  }
  const total =
    env.waits.databaseStart.timeoutSeconds +
    env.waits.deployments.timeoutSeconds +
    env.waits.health.timeoutSeconds;
  if (env.lockTtlSeconds < total) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${source}: environment "${key}": lockTtlSeconds (${env.lockTtlSeconds}) is shorter than the longest run (${total} s of waits); raise lockTtlSeconds or lower the wait timeouts`,
    );
  }
  return env;
}

export function listEnvironments(config: Config): string[] {
  return Object.keys(config.environments).sort();
}
