// Owns the size of the run context against Step Functions' limit: every state's input and
// output is at most 262,144 bytes (UTF-8), and going over fails the execution with
// States.DataLimitExceeded, which no Catch catches (the run would stop holding its lock,
// half done). The context carries the environment's state (about 180 bytes a deployment) and
// grows by one change or skip per workload as the run goes; the records stay in S3 and the
// outputs are compact. Prepare measures what it hands on, adds the most the later steps can
// add, and refuses a run that could go over, before it takes the lock or changes anything.
import type { Environment } from '../config/schema.ts';
import type { RunContext } from '../contracts.ts';
import { CimError, ErrorNames } from '../errors.ts';

/** Step Functions: maximum input or output size of a state, task result, execution input/output. */
export const STATE_PAYLOAD_LIMIT = 262_144;

/**
 * What the later steps add besides one entry per workload: poll, database and wait state,
 * node group goals, a caught error with its cause, the failed step, the compact summary that
 * "Record failure" puts next to the context.
 */
export const PAYLOAD_MARGIN = 20_000;

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');

/**
 * The most one workload adds to the context: a change ({deployment, namespace, from, to}) or
 * a skip with its reason (the longest reason names the namespace and the workload twice, or
 * the build), never both.
 */
function perWorkload(name: string, namespace: string, build: string): number {
  const change = bytes({ deployment: name, namespace, from: 10_000, to: 10_000, kind: 'StatefulSet' });
  const reason = Math.max(namespace.length + name.length + 60, build.length + 70);
  const skip = bytes({ deployment: name, kind: 'HorizontalPodAutoscaler', reason: '' }) + reason;
  return Math.max(change, skip) + 1;
}

export interface PayloadProjection {
  /** The context Prepare hands on. */
  context: number;
  /** The largest state input/output the run can reach, at most. */
  projected: number;
  limit: number;
  workloads: number;
}

/**
 * The restore point an `up` carries ({name: count} per workload): counted for every other
 * action too, so that an environment whose down is accepted never has its up refused.
 */
const restoreEntry = (name: string) => bytes({ [name]: 10_000 }) - 1;

export function projectPayload(ctx: RunContext, env: Environment): PayloadProjection {
  const build = ctx.request.build;
  const upLater = ctx.request.action !== 'up';
  const per = (name: string, namespace: string) =>
    perWorkload(name, namespace, build) + (upLater ? restoreEntry(name) : 0);
  const growth =
    env.deployments.reduce((n, d) => n + per(d.name, d.namespace), 0) +
    env.workloads.reduce((n, w) => n + per(w.name, w.namespace), 0);
  const context = bytes(ctx);
  return {
    context,
    projected: context + growth + PAYLOAD_MARGIN,
    limit: STATE_PAYLOAD_LIMIT,
    workloads: env.deployments.length + env.workloads.length,
  };
}

/**
 * The pre-state without its pods' requests (issue 18): about 50 bytes a workload that no step
 * needs, recorded only for the report. An environment near the limit records them as unknown
 * rather than being refused for them, so the largest environment that fits stays the same.
 */
export function withoutPodRequests(ctx: RunContext): RunContext {
  const strip = <T extends object>(w: T): T => {
    if (!('requests' in w)) return w;
    const { requests: _r, ...rest } = w as T & { requests?: unknown };
    return rest as T;
  };
  const pre = ctx.preState;
  return {
    ...ctx,
    preState: {
      ...pre,
      deployments: pre.deployments.map(strip),
      ...(pre.workloads ? { workloads: pre.workloads.map(strip) } : {}),
    },
  };
}

/**
 * The context to hand on: as read when it fits, else without the pods' requests when that
 * fits (`requestsDropped`). Refuses a context that does not fit either way.
 */
export function fitPayload(ctx: RunContext, env: Environment): { ctx: RunContext; requestsDropped: boolean } {
  if (projectPayload(ctx, env).projected <= STATE_PAYLOAD_LIMIT) return { ctx, requestsDropped: false };
  const slim = withoutPodRequests(ctx);
  checkPayloadLimit(slim, env);
  return { ctx: slim, requestsDropped: true };
}

/** Refuses (PreflightFailed, nothing changed) a run whose context could go over the limit. */
export function checkPayloadLimit(ctx: RunContext, env: Environment): PayloadProjection {
  const p = projectPayload(ctx, env);
  if (p.projected <= p.limit) return p;
  // Linear in the workloads, less 1 % for what does not grow with them: a size that is accepted.
  const fits = Math.max(
    0,
    Math.floor((0.99 * p.workloads * (p.limit - PAYLOAD_MARGIN)) / (p.projected - PAYLOAD_MARGIN)),
  );
  throw new CimError(
    ErrorNames.PreflightFailed,
    `preflight of ${env.customer}/${env.environment} failed, nothing was changed: the environment is too large for one execution. Its run context is ${p.context} bytes after Prepare and can grow to about ${p.projected} bytes with ${p.workloads} deployments and workloads, over Step Functions' limit of ${p.limit} bytes for a state's input or output (States.DataLimitExceeded, which no Catch catches). Split it into environments of at most about ${fits} deployments and workloads each.`,
  );
}
