// Owns the shape of the configuration: its zod schema (the source of the JSON Schema in
// schemas/environments.schema.json, with messages that say what is expected), the types
// Config and Environment, and the rules for environment keys. Reading the file lives in
// file.ts, schedules' fields in schedules.ts, merging and resolving environments (and the
// checks zod cannot express) in catalog.ts.
import * as z from 'zod';
import {
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  labelKeyError,
  labelValueError,
  parseLabelSelector,
} from './label-selector.ts';
import { KmsSetting, VpcSettings } from './organization.ts';
import { Calendars, Schedules } from './schedules.ts';
import { type Target, TargetSettings } from './targets.ts';
import { WakeSettings } from './wake.ts';

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

/** The shared "sleeping" backend an opted-in environment's Ingresses point at while down (issue 19). */
const SleepingBackend = z
  .object({
    service: z
      .string()
      .regex(
        NAME_PATTERN,
        'must be a Service name (lower-case letters, digits and "-", at most 63) in the Ingress namespace',
      )
      .describe(
        'A Service in each namespace of the environment (e.g. an ExternalName Service naming the shared wake page).',
      ),
    port: z.number().int().min(1).max(65_535).describe('Its port number.'),
  })
  .strict()
  .describe(
    'Opt-in: on down, every Ingress of the namespace is recorded and pointed at this Service (the wake page); on up it is restored exactly as recorded.',
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
    sleepingBackend: SleepingBackend.optional(),
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
    schedules: Schedules,
    calendars: Calendars,
    wake: WakeSettings.optional(),
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
  /** Opt-in (issue 19): the Service the namespace's Ingresses point at while down (null: left alone). */
  sleepingBackend: { service: string; port: number } | null;
  labels: Record<string, string>;
  /** Set when the cluster and database live in another account: the role the functions assume there. */
  target?: Target;
}

// --- environment keys ------------------------------------------------------------------------

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
