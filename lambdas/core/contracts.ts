// Owns the contracts between the workflow's steps: the run request (what a caller may ask),
// the run context the state machine carries from Task to Task (domain shape, not the legacy
// JSON), the collaborators every step receives, and the schemas that check both at the
// handler boundary.
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { resolveEnvironment } from './config/catalog.ts';
import { type Config, type Environment, NAME_PATTERN } from './config/schema.ts';
import { CimError, ErrorNames, unprintableCharacter } from './errors.ts';
import type { DatabaseGateway } from './gateways/database.ts';
import type { HealthChecker } from './gateways/health.ts';
import type { KubeGateway } from './gateways/kubernetes.ts';
import type { NodegroupGateway, NodegroupScaling } from './gateways/nodegroups.ts';
import type { Notifier } from './gateways/notifier.ts';
import type { StateStore } from './gateways/store.ts';
import type { DatabaseWait, TaskTokens } from './gateways/task-tokens.ts';
import { DatabaseFactsSchema } from './records/database-facts.ts';
import type { Hold } from './records/hold.ts';
import { IngressStateSchema } from './records/ingress-state.ts';
import {
  ACTIONS,
  type Action,
  BUILD_PATTERN,
  type EnvironmentState,
  type LastChange,
} from './records/legacy-state.ts';
import type { HeldLock, LockInfo } from './records/lock.ts';
import { NodegroupStateSchema } from './records/nodegroup-state.ts';
import type { RestorePoint } from './records/restore-point.ts';
import type { Wake } from './records/wake.ts';
import { WorkloadStateSchema } from './records/workload-state.ts';
import { RUN_TRIGGERS, type RunTrigger } from './run/trigger.ts';
import { WakeRequest } from './run/wake-request.ts';
import type { WakeRun, WakeScheduled } from './run/wake-run.ts';
import type { Poll } from './waits.ts';
import type { Skip } from './workloads/kind.ts';
import type { WorkloadChange } from './workloads/kinds.ts';
import { PodRequestsSchema } from './workloads/requests.ts';
import { type Targets, withTargets } from './workloads/targets.ts';

export { BUILD_PATTERN };

export interface Logger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface Deps {
  config: Config;
  configSource: string;
  /** Digest of the configuration the run used, recorded in every action record. */
  configDigest?: string;
  store(env: Environment): StateStore;
  kube(env: Environment): KubeGateway;
  db(env: Environment): DatabaseGateway;
  /** EKS managed node groups of the environment's cluster (its target account's credentials). */
  nodegroups(env: Environment): NodegroupGateway;
  health: HealthChecker;
  now(): Date;
  log: Logger;
  /** Local runs: where this process runs, written into the lock for `cim unlock`. */
  runner?: { host: string; pid: number };
  /** Where failed runs, guard re-stops and fleet failures are announced (SNS); none locally. */
  notify?: Notifier;
  /** The deployment delivers RDS events to the database waits (never on the local engine). */
  databaseEvents?: boolean;
  /** Completes a Task waiting on a token (the event-driven database wait). */
  taskTokens?: TaskTokens;
}

const name = (what: string) =>
  z
    .string()
    .regex(
      NAME_PATTERN,
      `${what} must be lower-case letters, digits and "-" (no "/", "..", spaces or control characters)`,
    );

const build = z
  .string()
  .regex(
    BUILD_PATTERN,
    'build must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

export const RunRequest = z
  .object({
    action: z.enum(ACTIONS as [Action, ...Action[]], {
      message: `action must be one of ${ACTIONS.join(', ')}`,
    }),
    customer: name('customer'),
    environment: name('environment'),
    build: build.optional(),
    user: z
      .string({ message: 'user is required (who runs it: a CI user, a person, schedule:<name>)' })
      .trim()
      .min(1, 'user must not be empty')
      .max(128, 'user must be at most 128 characters')
      .superRefine((u, ctx) => {
        const bad = unprintableCharacter(u);
        if (bad)
          ctx.addIssue({
            code: 'custom',
            message: `user must not contain control characters, bidirectional marks or invisible characters (records and terminals would show something else): it contains ${bad}`,
          });
      }),
    dryRun: z.boolean({ message: 'dryRun must be true or false' }).default(false),
    /** get_env_state only: write pre/post-state and actions.json as the legacy tool did. */
    record: z.boolean({ message: 'record must be true or false' }).default(false),
    /** up only: restore the counts of this build's pre-state instead of the last down's. */
    restoreFromBuild: z
      .string({ message: 'restoreFromBuild must be a build id (a string)' })
      .regex(
        BUILD_PATTERN,
        'restoreFromBuild must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      )
      .optional(),
    /**
     * up only (issue 19): this up is a wake on demand started through the deployed wake
     * endpoint (or `cim wake --remote`). The workflow itself records the wake (wake.json, the
     * rate-limit ledgers, the requester in the action record) and schedules its time to live,
     * so that the endpoint's function needs no write permission.
     */
    wake: WakeRequest.optional(),
    /** Set by Step Functions on a child execution started by the fleet: links them in the console. */
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
  })
  .strict();
export type RunRequest = z.output<typeof RunRequest>;
export type ResolvedRequest = Omit<RunRequest, 'build'> & { build: string };

export interface ScaleChange {
  deployment: string;
  namespace: string;
  from: number;
  to: number;
}

/** A StatefulSet scaled, or a CronJob's suspend flag set: one shape per target kind (kinds.ts). */
export type { WorkloadChange };

/** Phases of a whole environment that many environments do not have: their states are skipped then. */
export interface Phases {
  /** The environment has `nodegroups` (down scales them last, up restores them first). */
  nodegroups: boolean;
  /** Up: the restore point recorded HPAs, to wait for after the deployments. */
  autoscalers: boolean;
  /**
   * The Ingress Tasks run (issue 19): down, Prepare recorded Ingresses to point (the
   * environment has sleepingBackend); up, the restore point recorded Ingresses.
   */
  ingresses: boolean;
}

export interface RunContext {
  request: ResolvedRequest;
  executionId: string;
  startedAt: string;
  /** Null for read-only runs (dry run, status). */
  lock: HeldLock | null;
  /** The last up/down before this run, and the etag of actions.json it was read from. */
  previous: LastChange | null;
  latestEtag: string | null;
  restore: RestorePoint | null;
  preState: EnvironmentState;
  /** Read-only runs: the run that holds the lock now, if any. */
  holder: Partial<LockInfo> | null;
  /** The environment's active hold (cim hold), if any: a manual run goes ahead and says so. */
  hold?: Hold | null;
  /** Status only: the wake on demand keeping the environment awake now (cim wake), if any. */
  wake?: Wake;
  /** An up carrying a wake (issue 19): what Prepare decided, for "Record wake" and "Schedule wake down". */
  wakeRun?: WakeRun;
  /** Set by "Schedule wake down": the wake's one-time schedule, or why there is none (local). */
  wakeSchedule?: WakeScheduled;
  /** How the run was started (run/trigger.ts), recorded in its action records; set by Prepare. */
  trigger?: RunTrigger;
  /** When each phase started and ended (run/phase-times.ts), recorded in its action records. */
  phaseTimes?: PhaseTimes;
  changes?: ScaleChange[];
  skipped?: Skip[];
  /** StatefulSets and CronJobs this run changed, in the order it changed them. */
  workloadChanges?: WorkloadChange[];
  /** Environments with `discover`: the workloads this run acts on (found at down, recorded at up). */
  targets?: Targets;
  /** StatefulSets and CronJobs left alone, and why (merged with `skipped` in the records). */
  workloadSkipped?: Skip[];
  database?: { issued: 'start' | 'stop' | null; stateBefore: string | null };
  /** The optional phases this run has something to do in (set by Prepare; the workflow skips the others). */
  phases?: Phases;
  /** Set by Start/Stop database: whether the wait that follows listens for the RDS event. */
  databaseWait?: DatabaseWait;
  /** The scaling config each node group is brought to by this run (set by the node group Tasks). */
  nodegroupGoals?: ({ name: string } & NodegroupScaling)[];
  poll?: Poll;
  error?: { Error: string; Cause: string };
  /** Set by the state that caught a failure: which step failed. */
  failedStep?: string;
}

/** The phases of a run whose start and end its action record keeps (run/phase-times.ts). */
export type Phase = 'workloads' | 'database' | 'nodegroups';
export type PhaseTimes = Partial<Record<`${Phase}Started` | `${Phase}Ended`, string>>;

/** Does this run write anything (lock, records, changes)? */
export const writes = (r: ResolvedRequest) => !r.dryRun && (r.action !== 'get_env_state' || r.record);

export function generateBuildId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-${randomBytes(3).toString('hex')}`;
}

export function issuesText(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
}

export function parseRequest(raw: unknown): RunRequest {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CimError(
      ErrorNames.InvalidInput,
      `invalid run request: expected a JSON object such as {"action":"down","customer":"alpha","environment":"dev","user":"jenkins"}, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`,
    );
  }
  const parsed = RunRequest.safeParse(raw);
  if (!parsed.success)
    throw new CimError(ErrorNames.InvalidInput, `invalid run request: ${issuesText(parsed.error)}`);
  const { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: _parent, ...request } = parsed.data;
  if (request.restoreFromBuild !== undefined && request.action !== 'up') {
    throw new CimError(
      ErrorNames.InvalidInput,
      `invalid run request: restoreFromBuild is for up only (action is ${request.action})`,
    );
  }
  if (request.wake !== undefined && request.action !== 'up') {
    throw new CimError(
      ErrorNames.InvalidInput,
      `invalid run request: wake is for up only (a wake on demand is an up with a time to live; action is ${request.action})`,
    );
  }
  return request;
}

const DeploymentStateSchema = z.object({
  name: z.string(),
  namespace: z.string(),
  exists: z.boolean(),
  available: z.boolean(),
  availableReason: z.string().nullable(),
  replicas: z.number().int().min(0),
  appStatus: z.enum(['up', 'down']),
  appUrl: z.string().nullable(),
  requests: PodRequestsSchema.optional(),
});

const EnvironmentStateSchema = z.object({
  deployments: z.array(DeploymentStateSchema),
  workloads: z.array(WorkloadStateSchema).optional(),
  nodegroups: z.array(NodegroupStateSchema).optional(),
  ingresses: z.array(IngressStateSchema).optional(),
  database: z.object({
    kind: z.enum(['instance', 'cluster']),
    identifier: z.string(),
    exists: z.boolean(),
    state: z.string().nullable(),
    facts: DatabaseFactsSchema.optional(),
  }),
  timestamp: z.string(),
  build: z.string(),
});

/**
 * What every Task after Prepare receives. Only Prepare takes outside input; the rest check
 * that the state machine handed them a run context, so a hand-started execution or a
 * broken definition is refused with a message instead of half-running.
 */
export const RunContextSchema = z.looseObject({
  request: RunRequest.extend({ build }),
  executionId: z.string().min(1),
  startedAt: z.string(),
  lock: z.object({ key: z.string(), owner: z.string() }).loose().nullable(),
  previous: z.unknown(),
  latestEtag: z.string().nullable(),
  restore: z.unknown(),
  preState: EnvironmentStateSchema,
  holder: z.unknown(),
  trigger: z.enum(RUN_TRIGGERS as [RunTrigger, ...RunTrigger[]]).optional(),
  phaseTimes: z.record(z.string(), z.string()).optional(),
});

export function parseContext(raw: unknown, step: string): RunContext {
  const parsed = RunContextSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CimError(
      ErrorNames.InvalidInput,
      `${step} expects the run context produced by Prepare: ${issuesText(parsed.error)}`,
    );
  }
  return parsed.data as unknown as RunContext;
}

/** The environment of a run, resolved again from the configuration the step was deployed with. */
export function envOf(deps: Deps, ctx: RunContext): Environment {
  const env = resolveEnvironment(
    deps.config,
    ctx.request.customer,
    ctx.request.environment,
    deps.configSource,
  );
  return env.discover && ctx.targets ? withTargets(env, ctx.targets) : env;
}
