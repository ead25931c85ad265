// Owns the state model: camelCase types used inside, and the legacy JSON shapes
// (`k8s_deployments`, `aws_rds`, actions.json) used at the S3 boundary, byte-compatible
// with what the Python tool wrote. New fields are additive and never change old meanings.
import * as z from 'zod';
import { CimError, ErrorNames, unprintableCharacter } from '../errors.ts';
import { RUN_TRIGGERS, type RunTrigger } from '../run/trigger.ts';
import {
  legacyPodRequestsKey,
  type PodRequests,
  podRequestsFromLegacy,
  podRequestsToLegacy,
} from '../workloads/requests.ts';
import {
  type DatabaseFactsState,
  databaseFactsFromLegacy,
  databaseFactsToLegacy,
  LegacyDatabaseFactKeys,
} from './database-facts.ts';
import {
  type IngressState,
  ingressesFromLegacy,
  ingressesToLegacy,
  LegacyIngressKeys,
} from './ingress-state.ts';
import {
  LegacyNodegroupKeys,
  type NodegroupState,
  nodegroupsFromLegacy,
  nodegroupsToLegacy,
} from './nodegroup-state.ts';
import {
  LegacyWorkloadKeys,
  type WorkloadState,
  workloadsFromLegacy,
  workloadsToLegacy,
} from './workload-state.ts';

export type { WorkloadState };

export type Action = 'up' | 'down' | 'get_env_state';
export const ACTIONS: readonly Action[] = ['up', 'down', 'get_env_state'];

export interface DeploymentState {
  name: string;
  namespace: string;
  exists: boolean;
  available: boolean;
  availableReason: string | null;
  replicas: number;
  appStatus: 'up' | 'down';
  appUrl: string | null;
  /** One pod's requests (issue 18); absent in legacy records and for a missing deployment. */
  requests?: PodRequests;
}

export interface DatabaseState {
  kind: 'instance' | 'cluster';
  identifier: string;
  exists: boolean;
  state: string | null;
  /** What its bill depends on (issue 18); absent in legacy records and for a missing database. */
  facts?: DatabaseFactsState;
}

export interface EnvironmentState {
  deployments: DeploymentState[];
  /** The other workload kinds (workloads/kinds.ts); absent for an environment without them (and in legacy records). */
  workloads?: WorkloadState[];
  /** EKS managed node groups; absent for an environment without them (and in legacy records). */
  nodegroups?: NodegroupState[];
  /** Ingresses of an environment with sleepingBackend, in the pre-state of a down (issue 19); absent otherwise. */
  ingresses?: IngressState[];
  database: DatabaseState;
  timestamp: string;
  build: string;
}

/** Build ids as they appear in S3 keys: never "/", "..", spaces or control characters. */
export const BUILD_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The last up/down of an environment, carried in actions.json so that a get_env_state does
 * not hide it. `running` is the intent written before the first change: a run that never
 * got further (crash, kill, lost failure record) still says which pre-state to restore.
 */
export interface LastChange {
  action: 'up' | 'down';
  build: string;
  result: 'succeeded' | 'failed' | 'running';
  /** Build whose pre-state holds the counts to restore (the first down of an unfinished streak). */
  restorePointBuild: string | null;
}

export type ActionResult = 'succeeded' | 'failed' | 'running' | 'interrupted';

export interface ActionRecord {
  timestamp: string;
  build: string;
  user: string;
  customer: string;
  environment: string;
  action: Action;
  result?: ActionResult;
  executionId?: string;
  error?: { name: string; message: string; step?: string };
  restoredFromBuild?: string;
  skipped?: { deployment: string; reason: string }[];
  lastChange?: LastChange;
  configDigest?: string;
  /** How the run was started (issue 18); absent in older records (read as unknown). */
  trigger?: RunTrigger;
  /** When the run and each of its phases started and ended (issue 18); absent in older records. */
  phaseTimes?: RecordedPhaseTimes;
  /** A wake's up (issue 19): who asked for it, from where; absent otherwise and in older records. */
  requester?: RecordedRequester;
}

/** `requester` of an action record: the person who woke the environment, and from where. */
export interface RecordedRequester {
  user: string;
  /** The identity provider's subject (the wake page), when there is one. */
  subject?: string;
  address?: string;
  userAgent?: string;
  source: 'cli' | 'http';
}

const RequesterText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => unprintableCharacter(v) === null, 'printable');
/** Additive (issue 19); read as untrusted: one that does not check reads as absent. */
const LegacyRequester = z.looseObject({
  user: RequesterText(128),
  subject: RequesterText(255).optional(),
  address: RequesterText(64).optional(),
  user_agent: RequesterText(512).optional(),
  source: z.enum(['cli', 'http']),
});

/** `phase_times` of an action record: UTC timestamps (YYYY-MM-DDTHH:MM:SSZ), each optional. */
export const PHASE_TIME_KEYS = [
  'run_started',
  'workloads_started',
  'workloads_ended',
  'database_started',
  'database_ended',
  'nodegroups_started',
  'nodegroups_ended',
  'run_ended',
] as const;
export type RecordedPhaseTimes = Partial<Record<(typeof PHASE_TIME_KEYS)[number], string>>;

const UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const PhaseTime = z
  .string()
  .regex(UTC_SECONDS, 'a UTC timestamp YYYY-MM-DDTHH:MM:SSZ')
  .refine((t) => Number.isFinite(Date.parse(t)), 'a real date');
/** Each phase ends after it starts (timestamps of this one format compare as strings). */
export const LegacyPhaseTimes = z
  .object(
    Object.fromEntries(PHASE_TIME_KEYS.map((k) => [k, PhaseTime.optional()])) as Record<
      (typeof PHASE_TIME_KEYS)[number],
      z.ZodOptional<typeof PhaseTime>
    >,
  )
  .refine((t) => {
    const pairs: [string | undefined, string | undefined][] = [
      [t.run_started, t.run_ended],
      [t.workloads_started, t.workloads_ended],
      [t.database_started, t.database_ended],
      [t.nodegroups_started, t.nodegroups_ended],
    ];
    return pairs.every(([a, b]) => a === undefined || b === undefined || a <= b);
  }, 'a phase ends before it starts');

/** UTC in the legacy format: YYYY-MM-DDTHH:MM:SSZ. */
export const legacyTimestamp = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

const DatabaseMessage = (db: DatabaseState) => {
  const what = db.kind === 'cluster' ? 'Aurora cluster' : 'RDS instance';
  return db.exists
    ? `${what} '${db.identifier}' is in state '${db.state}'.`
    : `${what} '${db.identifier}' does not exist.`;
};

// ---- legacy shapes ----

const LegacyDeployment = z.looseObject({
  deployment_namespace: z.string(),
  deployment_exists: z.boolean(),
  deployment_available: z.boolean(),
  deployment_available_reason: z.string().nullable(),
  deployment_replicas: z.number().int().min(0).nullable(),
  app_status: z.string(),
  app_url: z.string().nullable().optional(),
  ...legacyPodRequestsKey,
});

export const LegacyState = z.looseObject({
  k8s_deployments: z.record(z.string(), LegacyDeployment),
  ...LegacyWorkloadKeys,
  ...LegacyNodegroupKeys,
  ...LegacyIngressKeys,
  aws_rds: z.looseObject({
    message: z.string().optional(),
    rds_identifier: z.string(),
    rds_exists: z.boolean(),
    rds_state: z.string().nullable(),
    rds_kind: z.enum(['instance', 'cluster']).optional(),
    ...LegacyDatabaseFactKeys,
  }),
  timestamp: z.string(),
  jenkins_build: z.union([z.string(), z.number()]).transform(String),
});

const Build = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform(String)
  .pipe(z.string().regex(BUILD_PATTERN, 'a build id: 1-64 letters, digits, ".", "_" or "-"'));

const LegacyLastChange = z.object({
  desired_state: z.enum(['up', 'down']),
  jenkins_build: Build,
  result: z.enum(['succeeded', 'failed', 'running']),
  restore_point_build: Build.nullable(),
});

export const LegacyActionRecord = z.looseObject({
  timestamp: z.string(),
  jenkins_build: Build,
  jenkins_user: z.string().nullable().optional(),
  customer: z.string(),
  environment: z.string(),
  desired_state: z.enum(['up', 'down', 'get_env_state']),
  result: z.enum(['succeeded', 'failed', 'running', 'interrupted']).optional(),
  execution_id: z.string().optional(),
  error: z.looseObject({ name: z.string(), message: z.string(), step: z.string().optional() }).optional(),
  restored_from_build: Build.optional(),
  skipped: z.array(z.object({ deployment: z.string(), reason: z.string() })).optional(),
  last_change: LegacyLastChange.optional(),
  config_digest: z.string().optional(),
  // Additive (issue 18): a value this version does not know reads as absent (unknown).
  trigger: z
    .enum(RUN_TRIGGERS as [RunTrigger, ...RunTrigger[]])
    .optional()
    .catch(undefined),
  phase_times: LegacyPhaseTimes.optional().catch(undefined),
  requester: LegacyRequester.optional().catch(undefined),
});

export function stateToLegacy(s: EnvironmentState): Record<string, unknown> {
  const deployments: Record<string, unknown> = {};
  for (const d of s.deployments) {
    deployments[d.name] = {
      deployment_namespace: d.namespace,
      deployment_exists: d.exists,
      deployment_available: d.available,
      deployment_available_reason: d.availableReason,
      deployment_replicas: d.replicas,
      app_status: d.appStatus,
      app_url: d.appUrl,
      ...podRequestsToLegacy(d.requests),
    };
  }
  const rds: Record<string, unknown> = {
    message: DatabaseMessage(s.database),
    rds_identifier: s.database.identifier,
    rds_exists: s.database.exists,
    rds_state: s.database.state,
  };
  if (s.database.kind === 'cluster') rds.rds_kind = 'cluster';
  Object.assign(rds, databaseFactsToLegacy(s.database.facts));
  return {
    k8s_deployments: deployments,
    ...workloadsToLegacy(s.workloads),
    ...nodegroupsToLegacy(s.nodegroups),
    ...ingressesToLegacy(s.ingresses),
    aws_rds: rds,
    timestamp: s.timestamp,
    jenkins_build: s.build,
  };
}

function invalidRecord(key: string, err: unknown): CimError {
  const detail =
    err instanceof z.ZodError
      ? err.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')
      : String(err);
  return new CimError(
    ErrorNames.StateRecordInvalid,
    `state record s3 object "${key}" is not a valid record (${detail}). Inspect or restore an earlier version of it (the bucket is versioned); nothing was changed.`,
  );
}

export function stateFromLegacy(json: unknown, key: string): EnvironmentState {
  const parsed = LegacyState.safeParse(json);
  if (!parsed.success) throw invalidRecord(key, parsed.error);
  const p = parsed.data;
  // From the raw object: the parse above reads a bad fact as absent, this says why.
  const { facts } = databaseFactsFromLegacy((json as { aws_rds?: unknown }).aws_rds);
  const workloads = workloadsFromLegacy(p);
  const nodegroups = nodegroupsFromLegacy(p);
  const ingresses = ingressesFromLegacy(p);
  return {
    ...(workloads ? { workloads } : {}),
    ...(nodegroups ? { nodegroups } : {}),
    ...(ingresses ? { ingresses } : {}),
    deployments: Object.entries(p.k8s_deployments).map(([name, d]) => ({
      name,
      namespace: d.deployment_namespace,
      exists: d.deployment_exists,
      available: d.deployment_available,
      availableReason: d.deployment_available_reason,
      replicas: d.deployment_replicas ?? 0,
      appStatus: d.app_status === 'up' ? 'up' : 'down',
      appUrl: d.app_url ?? null,
      ...podRequestsFromLegacy(d.pod_requests),
    })),
    database: {
      kind: p.aws_rds.rds_kind ?? 'instance',
      identifier: p.aws_rds.rds_identifier,
      exists: p.aws_rds.rds_exists,
      state: p.aws_rds.rds_state,
      ...(facts ? { facts } : {}),
    },
    timestamp: p.timestamp,
    build: p.jenkins_build,
  };
}

export function actionToLegacy(a: ActionRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    timestamp: a.timestamp,
    jenkins_build: a.build,
    jenkins_user: a.user,
    customer: a.customer,
    environment: a.environment,
    desired_state: a.action,
  };
  if (a.result) out.result = a.result;
  if (a.executionId) out.execution_id = a.executionId;
  if (a.error) out.error = a.error;
  if (a.restoredFromBuild) out.restored_from_build = a.restoredFromBuild;
  if (a.skipped?.length) out.skipped = a.skipped;
  if (a.configDigest) out.config_digest = a.configDigest;
  if (a.lastChange) {
    out.last_change = {
      desired_state: a.lastChange.action,
      jenkins_build: a.lastChange.build,
      result: a.lastChange.result,
      restore_point_build: a.lastChange.restorePointBuild,
    };
  }
  if (a.trigger) out.trigger = a.trigger;
  if (a.phaseTimes) out.phase_times = a.phaseTimes;
  if (a.requester) {
    const r = a.requester;
    out.requester = {
      user: r.user,
      ...(r.subject !== undefined ? { subject: r.subject } : {}),
      ...(r.address !== undefined ? { address: r.address } : {}),
      ...(r.userAgent !== undefined ? { user_agent: r.userAgent } : {}),
      source: r.source,
    };
  }
  return out;
}

export function actionFromLegacy(json: unknown, key: string): ActionRecord {
  const parsed = LegacyActionRecord.safeParse(json);
  if (!parsed.success) throw invalidRecord(key, parsed.error);
  const p = parsed.data;
  const rec: ActionRecord = {
    timestamp: p.timestamp,
    build: p.jenkins_build,
    user: p.jenkins_user ?? '',
    customer: p.customer,
    environment: p.environment,
    action: p.desired_state,
  };
  if (p.result) rec.result = p.result;
  if (p.execution_id) rec.executionId = p.execution_id;
  if (p.error)
    rec.error = {
      name: p.error.name,
      message: p.error.message,
      ...(p.error.step !== undefined ? { step: p.error.step } : {}),
    };
  if (p.restored_from_build) rec.restoredFromBuild = p.restored_from_build;
  if (p.skipped) rec.skipped = p.skipped;
  if (p.config_digest) rec.configDigest = p.config_digest;
  if (p.trigger) rec.trigger = p.trigger;
  if (p.phase_times) rec.phaseTimes = p.phase_times as RecordedPhaseTimes;
  if (p.requester) {
    const r = p.requester;
    rec.requester = {
      user: r.user,
      ...(r.subject !== undefined ? { subject: r.subject } : {}),
      ...(r.address !== undefined ? { address: r.address } : {}),
      ...(r.user_agent !== undefined ? { userAgent: r.user_agent } : {}),
      source: r.source,
    };
  }
  if (p.last_change) {
    rec.lastChange = {
      action: p.last_change.desired_state,
      build: p.last_change.jenkins_build,
      result: p.last_change.result,
      restorePointBuild: p.last_change.restore_point_build,
    };
  }
  return rec;
}

/**
 * The last up/down as the record knows it. Records written by the legacy tool have no
 * `last_change`: an up/down record is its own last change (the legacy tool only wrote
 * records of runs that got that far, so it counts as succeeded).
 */
export function lastChangeOf(rec: ActionRecord): LastChange | null {
  if (rec.lastChange) return rec.lastChange;
  if (rec.action === 'get_env_state') return null;
  const result =
    rec.result === undefined || rec.result === 'succeeded'
      ? 'succeeded'
      : rec.result === 'running'
        ? 'running'
        : 'failed';
  return {
    action: rec.action,
    build: rec.build,
    result,
    restorePointBuild: rec.action === 'down' ? rec.build : null,
  };
}
