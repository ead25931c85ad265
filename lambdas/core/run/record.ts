// Owns the run's records in S3 and their transitions (docs/operations.md "The run model"):
//   Prepared (lock held, nothing written)
//   -> Started: pre-state.json, then actions.json = intent (result "running", restore point)
//   -> Changing: scale / start / stop, each fenced by the lock
//   -> Recorded: post-state.json, history/{build}/actions.json, actions.json; lock released.
// A run that dies after Started leaves actions.json saying "running": the next run knows a
// change did not finish and which pre-state holds the counts. Every write here is safe to
// repeat: records are write-once and a retry adopts its own earlier object.

import type { Environment } from '../config/schema.ts';
import {
  type Deps,
  envOf,
  type RunContext,
  type ScaleChange,
  type WorkloadChange,
  writes,
} from '../contracts.ts';
import { CimError, ErrorNames, errorMessage } from '../errors.ts';
import { PreconditionFailed, putOnce, recordKeys, type StateStore } from '../gateways/store.ts';
import { readActionRecord, writtenByExecution } from '../records/actions.ts';
import type { Hold } from '../records/hold.ts';
import {
  type Action,
  type ActionRecord,
  type ActionResult,
  actionToLegacy,
  type EnvironmentState,
  type LastChange,
  legacyTimestamp,
  type RecordedPhaseTimes,
  type RecordedRequester,
  stateFromLegacy,
  stateToLegacy,
} from '../records/legacy-state.ts';
import { type HeldLock, type LockInfo, readLock, releaseLock } from '../records/lock.ts';
import {
  deriveTrigger,
  outcomeOfError,
  printableReason,
  recordedTrigger,
  writeRunIndex,
} from '../records/run-index.ts';
import type { Wake } from '../records/wake.ts';
import type { Skip } from '../workloads/kind.ts';
import { fence } from './fence.ts';
import { PHASES } from './phase-times.ts';
import { snapshotEnvironment } from './snapshot.ts';
import type { WakeRequest } from './wake-request.ts';

export interface RunSummary {
  result: 'succeeded' | 'failed' | 'interrupted';
  action: Action;
  customer: string;
  environment: string;
  build: string;
  executionId: string;
  dryRun: boolean;
  /** Legacy-shaped state records, as the legacy tool printed them. */
  preState: Record<string, unknown> | null;
  postState: Record<string, unknown> | null;
  restorePoint: { build: string; key: string; replicas: Record<string, number>; record: unknown } | null;
  changes: ScaleChange[];
  /** StatefulSets scaled and CronJobs suspended/resumed, in phase order. */
  workloadChanges: WorkloadChange[];
  skipped: Skip[];
  records: string[];
  error?: { name: string; message: string; step?: string };
  lock: 'released' | 'absent' | 'not-ours' | 'none' | 'release-failed';
  /**
   * Failures only: whether the failure is in S3. `nothing-changed` when the run stopped
   * before its first change (nothing to record); `false` when writing it failed, in which
   * case the intent record still says "running" and the next run recovers from it.
   */
  recorded?: true | false | 'nothing-changed';
  /** Read-only status: the run that holds the lock now. */
  inProgress?: Partial<LockInfo> | null;
  /** The environment's active hold (cim hold), if any. */
  hold?: Hold;
  /** Status only: the wake on demand in effect (cim wake), if any. */
  wake?: Wake;
  /** Read back from a compact output: how many changes and skips there were (the lists may be cut). */
  counts?: { changes: number; workloadChanges: number; skipped: number };
}

/** At most this many workload changes and skips are listed in a run's output (all are counted). */
export const OUTPUT_LIST_LIMIT = 20;

/**
 * What "Record result" and "Record failure" hand to Step Functions (the execution's output,
 * the fleet's child results, the remote CLI): counts and the keys of the records, never the
 * records themselves. A state's output is limited to 262,144 bytes; pre-state, post-state
 * and the restore point grow with the environment (290,004 bytes at 300 deployments) and
 * are in S3 already. Read-only runs (status) keep the state they read: no record holds it.
 */
export interface RunOutput
  extends Omit<
    RunSummary,
    'preState' | 'postState' | 'restorePoint' | 'changes' | 'workloadChanges' | 'skipped'
  > {
  counts: { changes: number; workloadChanges: number; skipped: number };
  /** Where this run's state records are (null: not written). */
  stateRecords: { preState: string | null; postState: string | null };
  restorePoint: { build: string; key: string } | null;
  /** The first OUTPUT_LIST_LIMIT of each (counts.* says how many there are). */
  workloadChanges: WorkloadChange[];
  skipped: Skip[];
  /** Read-only runs only: the state Prepare read. */
  preState?: Record<string, unknown> | null;
}

export function compactSummary(s: RunSummary): RunOutput {
  const { preState, postState, restorePoint, changes, workloadChanges, skipped, counts: _c, ...rest } = s;
  const find = (file: string) => s.records.find((k) => k.endsWith(`/${file}`)) ?? null;
  const history = s.records.find((k) => k.includes('/history/') && k.endsWith('/actions.json'));
  // A recorded failure wrote its intent (and so its pre-state) before anything changed.
  const pre =
    find('pre-state.json') ?? (history ? history.replace(/actions\.json$/, 'pre-state.json') : null);
  return {
    ...rest,
    counts: { changes: changes.length, workloadChanges: workloadChanges.length, skipped: skipped.length },
    stateRecords: { preState: pre, postState: find('post-state.json') },
    restorePoint: restorePoint ? { build: restorePoint.build, key: restorePoint.key } : null,
    workloadChanges: workloadChanges.slice(0, OUTPUT_LIST_LIMIT),
    skipped: skipped.slice(0, OUTPUT_LIST_LIMIT),
    ...(s.records.length === 0 && s.lock === 'none' ? { preState } : {}),
  };
}

/**
 * The run's summary for printing, from its output and the records it names (the CLI prints
 * the legacy sections from it). A record that cannot be read is left out, not guessed.
 */
export async function expandSummary(store: StateStore | null, out: RunOutput): Promise<RunSummary> {
  const read = async (key: string | null | undefined) => {
    if (!key || !store) return null;
    try {
      return ((await store.getJson(key))?.json as Record<string, unknown> | undefined) ?? null;
    } catch {
      return null;
    }
  };
  const { stateRecords, restorePoint, preState, ...rest } = out;
  return {
    ...rest,
    preState: preState ?? (await read(stateRecords?.preState)),
    postState: await read(stateRecords?.postState),
    restorePoint: restorePoint
      ? { ...restorePoint, replicas: {}, record: await read(restorePoint.key) }
      : null,
    changes: [],
  };
}

/** What actions.json says the last up/down is, once this run ends with `result`. */
export function nextLastChange(ctx: RunContext, result: LastChange['result']): LastChange | null {
  const { action, build } = ctx.request;
  if (action === 'get_env_state') return ctx.previous;
  const prev = ctx.previous;
  // While a down or an up has not completed, keep the counts of the first down: a second
  // down's pre-state would remember zeros.
  const carry = prev && prev.result !== 'succeeded' ? prev.restorePointBuild : null;
  if (action === 'down') return { action, build, result, restorePointBuild: carry ?? build };
  return {
    action,
    build,
    result,
    restorePointBuild: result === 'succeeded' ? null : (ctx.restore?.fromBuild ?? carry),
  };
}

/** The run's start, its phases' (run/phase-times.ts) and, once it has a result, its end. */
function recordedPhaseTimes(ctx: RunContext, ended: Date | null): RecordedPhaseTimes {
  const t = ctx.phaseTimes ?? {};
  const out: RecordedPhaseTimes = { run_started: legacyTimestamp(new Date(ctx.startedAt)) };
  for (const phase of PHASES) {
    const started = t[`${phase}Started`];
    const end = t[`${phase}Ended`];
    if (started) out[`${phase}_started`] = started;
    if (end) out[`${phase}_ended`] = end;
  }
  if (ended) out.run_ended = legacyTimestamp(ended);
  return out;
}

/** Deployments and the other workloads left alone, in one list (the legacy `skipped`). */
const allSkipped = (ctx: RunContext): Skip[] => [...(ctx.skipped ?? []), ...(ctx.workloadSkipped ?? [])];

/** A wake's up: who asked, from where, as its action record keeps it. */
function requesterOf(w: WakeRequest): RecordedRequester {
  const r = w.requester;
  return {
    user: r.user,
    ...(r.subject !== undefined ? { subject: r.subject } : {}),
    ...(r.address !== undefined ? { address: r.address } : {}),
    ...(r.userAgent !== undefined ? { userAgent: r.userAgent } : {}),
    source: w.source,
  };
}

function actionRecord(
  deps: Deps,
  ctx: RunContext,
  result: ActionResult,
  error?: { name: string; message: string; step?: string },
): Record<string, unknown> {
  const record: ActionRecord = {
    timestamp: legacyTimestamp(new Date(ctx.startedAt)),
    build: ctx.request.build,
    user: ctx.request.user,
    customer: ctx.request.customer,
    environment: ctx.request.environment,
    action: ctx.request.action,
    result,
    executionId: ctx.executionId,
    ...(error ? { error } : {}),
    ...(ctx.restore && ctx.request.action === 'up' ? { restoredFromBuild: ctx.restore.fromBuild } : {}),
    ...(allSkipped(ctx).length ? { skipped: allSkipped(ctx) } : {}),
    ...(deps.configDigest ? { configDigest: deps.configDigest } : {}),
    ...(ctx.trigger ? { trigger: ctx.trigger } : {}),
    phaseTimes: recordedPhaseTimes(ctx, result === 'running' ? null : deps.now()),
    ...(ctx.request.wake ? { requester: requesterOf(ctx.request.wake) } : {}),
  };
  const lastChange = nextLastChange(
    ctx,
    result === 'succeeded' ? 'succeeded' : result === 'running' ? 'running' : 'failed',
  );
  if (lastChange) record.lastChange = lastChange;
  return actionToLegacy(record);
}

/**
 * Writes the environment's latest actions.json. Only the lock holder writes it, and only
 * over what it read in Prepare or over its own earlier write (a retry): anything else means
 * another run wrote in between, and this one must not hide that run's record.
 */
async function putLatest(
  store: StateStore,
  env: Environment,
  ctx: RunContext,
  json: Record<string, unknown>,
): Promise<void> {
  const key = recordKeys(env, ctx.request.build).actions;
  const current = await store.getJson(key);
  const ours = current && writtenByExecution(current.json) === ctx.executionId;
  if (current && !ours && current.etag !== ctx.latestEtag) {
    throw new CimError(
      ErrorNames.RecordConflict,
      `s3://${store.bucket}/${key} was changed by another run (${JSON.stringify(writtenByExecution(current.json) ?? 'unknown')}) while this one held the lock; not overwriting it. Check cim status.`,
    );
  }
  try {
    await store.putJson(key, json, current ? { ifMatch: current.etag } : { ifNoneMatch: true });
  } catch (err) {
    if (err instanceof PreconditionFailed) {
      throw new CimError(ErrorNames.ConditionalWriteConflict, `${err.message}; retrying`, { cause: err });
    }
    throw err;
  }
}

/**
 * Record intent: before the first change, write the pre-state (the counts up will restore)
 * and the intent in actions.json. A recorded get_env_state writes its pre-state only.
 */
export async function recordIntent(deps: Deps, ctx: RunContext, step: string): Promise<RunContext> {
  if (!writes(ctx.request)) return ctx;
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const store = deps.store(env);
  const keys = recordKeys(env, ctx.request.build);
  const { adopted } = await putOnce(store, keys.preState, stateToLegacy(ctx.preState), ctx.executionId);
  // A retry keeps what the first attempt recorded: that is what the change started from.
  const preState = adopted ? stateFromLegacy(adopted, keys.preState) : ctx.preState;
  const next = { ...ctx, preState };
  if (ctx.request.action !== 'get_env_state') {
    await putLatest(store, env, next, actionRecord(deps, next, 'running'));
  }
  return next;
}

async function release(deps: Deps, store: StateStore, lock: HeldLock | null): Promise<RunSummary['lock']> {
  if (!lock) return 'none';
  try {
    return await releaseLock(store, lock);
  } catch (err) {
    deps.log.warn('could not release the lock', { error: errorMessage(err) });
    return 'release-failed';
  }
}

function summary(
  ctx: RunContext,
  result: RunSummary['result'],
  post: EnvironmentState | null,
  records: string[],
  lock: RunSummary['lock'],
  extra: Partial<RunSummary> = {},
): RunSummary {
  return {
    result,
    action: ctx.request.action,
    customer: ctx.request.customer,
    environment: ctx.request.environment,
    build: ctx.request.build,
    executionId: ctx.executionId,
    dryRun: ctx.request.dryRun,
    preState: ctx.preState ? stateToLegacy(ctx.preState) : null,
    postState: post ? stateToLegacy(post) : null,
    restorePoint: ctx.restore
      ? {
          build: ctx.restore.fromBuild,
          key: ctx.restore.key,
          replicas: ctx.restore.replicas,
          record: ctx.restore.record,
        }
      : null,
    changes: ctx.changes ?? [],
    workloadChanges: ctx.workloadChanges ?? [],
    skipped: allSkipped(ctx),
    records,
    lock,
    ...(ctx.hold ? { hold: ctx.hold } : {}),
    ...(ctx.wake ? { wake: ctx.wake } : {}),
    ...extra,
  };
}

function snapshotDeps(deps: Deps, env: Environment) {
  return {
    kube: deps.kube(env),
    db: deps.db(env),
    ...(env.nodegroups.length ? { nodegroups: deps.nodegroups(env) } : {}),
    health: deps.health,
    now: deps.now,
  };
}

/** Record result: post-state, history actions, the environment's actions, then release the lock. */
export async function recordResult(deps: Deps, ctx: RunContext, step: string): Promise<RunSummary> {
  if (!writes(ctx.request)) {
    // Read-only status: the state Prepare read is the answer; nothing written, no lock.
    return summary(ctx, 'succeeded', null, [], 'none', { inProgress: ctx.holder });
  }
  await fence(deps, ctx, step);
  const env = envOf(deps, ctx);
  const store = deps.store(env);
  const keys = recordKeys(env, ctx.request.build);
  const post = await snapshotEnvironment(snapshotDeps(deps, env), env, ctx.request.build);
  const adoptedPost = (await putOnce(store, keys.postState, stateToLegacy(post), ctx.executionId)).adopted;
  const json = actionRecord(deps, ctx, 'succeeded');
  const adopted = (await putOnce(store, keys.historyActions, json, ctx.executionId)).adopted;
  await putLatest(store, env, ctx, (adopted as Record<string, unknown> | null) ?? json);
  await indexRun(deps, ctx, store, env, keys.historyActions, adopted ?? json);
  const finalPost = adoptedPost ? stateFromLegacy(adoptedPost, keys.postState) : post;
  return summary(
    ctx,
    'succeeded',
    finalPost,
    [keys.preState, keys.postState, keys.historyActions, keys.actions],
    await release(deps, store, ctx.lock),
  );
}

/** The run's row in the report's index (records/run-index.ts): one write-once PUT, never throws. */
async function indexRun(
  deps: Deps,
  ctx: RunContext,
  store: StateStore,
  env: Environment,
  recordKey: string,
  record: unknown,
  error?: { name: string; message: string },
): Promise<void> {
  const { request } = ctx;
  await writeRunIndex(
    store,
    env.keyPrefix,
    {
      customer: request.customer,
      environment: request.environment,
      action: request.action,
      build: request.build,
      trigger: ctx.trigger ?? recordedTrigger(record) ?? deriveTrigger(request),
      user: request.user,
      startedAt: ctx.startedAt,
      endedAt: deps.now().toISOString(),
      outcome: error ? outcomeOfError(error.name) : 'succeeded',
      ...(error ? { reason: printableReason(`${error.name}: ${error.message}`) } : {}),
      recordKey,
    },
    ctx.executionId,
    (m, extra) => deps.log.warn(m, extra),
  );
}

/** Parses the Cause of a caught error: the local engine passes the message, AWS a JSON envelope. */
export function causeMessage(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause;
}

/**
 * Catch-all: record what failed and where, release the lock; never hides the original
 * error and never throws. A run that had not started changing anything writes no record.
 */
export async function recordFailure(deps: Deps, ctx: RunContext): Promise<RunSummary> {
  const error = {
    name: ctx.error?.Error ?? 'Error',
    message: causeMessage(ctx.error?.Cause ?? ''),
    ...(ctx.failedStep ? { step: ctx.failedStep } : {}),
  };
  const result: RunSummary['result'] = error.name === ErrorNames.Interrupted ? 'interrupted' : 'failed';
  if (!writes(ctx.request)) return summary(ctx, result, null, [], 'none', { error });
  let env: Environment;
  try {
    env = envOf(deps, ctx);
  } catch (err) {
    deps.log.warn('cannot resolve the environment to record the failure', { error: errorMessage(err) });
    return summary(ctx, result, null, [], 'release-failed', { error, recorded: false });
  }
  const store = deps.store(env);
  const keys = recordKeys(env, ctx.request.build);
  let records: string[] = [];
  let recorded: RunSummary['recorded'] = false;
  let post: EnvironmentState | null = null;
  // Every write below is idempotent, so the whole block is simply tried again.
  for (let attempt = 1; attempt <= 3 && recorded === false; attempt++) {
    records = [];
    try {
      const latest = await store.getJson(keys.actions);
      const started =
        ctx.request.action !== 'get_env_state' &&
        writtenByExecution(latest?.json ?? null) === ctx.executionId;
      if (!started) {
        // Stopped before the intent was written: nothing was changed, so nothing to record
        // but the index row (a refusal or a hold's skip is shown on the report).
        recorded = 'nothing-changed';
        if (ctx.request.action !== 'get_env_state')
          await indexRun(deps, ctx, store, env, keys.historyActions, null, error);
        break;
      }
      const holder = ctx.lock ? await readLock(store, ctx.lock.key) : null;
      const stillOurs = holder?.info.owner === ctx.lock?.owner;
      try {
        post = await snapshotEnvironment(snapshotDeps(deps, env), env, ctx.request.build);
        await putOnce(store, keys.postState, stateToLegacy(post), ctx.executionId);
        records.push(keys.postState);
      } catch (err) {
        deps.log.warn('post-state unreadable or not written after failure', { error: errorMessage(err) });
      }
      const json = actionRecord(deps, ctx, result, error);
      const adopted = (await putOnce(store, keys.historyActions, json, ctx.executionId)).adopted;
      records.push(keys.historyActions);
      // A run that lost its lock leaves actions.json to the run that holds it now.
      if (stillOurs) {
        const final = (adopted as Record<string, unknown> | null) ?? json;
        if (adopted) readActionRecord(adopted, keys.historyActions, env);
        await putLatest(store, env, ctx, final);
        records.push(keys.actions);
      }
      recorded = true;
      await indexRun(deps, ctx, store, env, keys.historyActions, adopted ?? json, error);
    } catch (err) {
      deps.log.warn(`could not record the failure (attempt ${attempt} of 3)`, { error: errorMessage(err) });
    }
  }
  return summary(ctx, result, post, recorded === true ? records : [], await release(deps, store, ctx.lock), {
    error,
    recorded,
  });
}
