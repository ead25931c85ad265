// Owns the domain logic of each workflow step. Every function takes its collaborators as
// `deps` and the run context (plain JSON carried by the state machine) and returns plain
// JSON; handlers and the CLI call these and nothing else.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type Config, type Environment, NAME_PATTERN, resolveEnvironment } from './config.ts';
import { convergeDatabase, type DatabaseGateway, type DatabaseGoal, label } from './database.ts';
import { CimError, ErrorNames, errorMessage } from './errors.ts';
import type { HealthChecker } from './health.ts';
import { deploymentSettled, type KubeGateway } from './kube-gateway.ts';
import { nextWaitSeconds, type Poll, pollStart } from './polling.ts';
import { snapshotEnvironment } from './snapshot.ts';
import {
  ACTIONS,
  type Action,
  type ActionRecord,
  actionFromLegacy,
  actionToLegacy,
  type EnvironmentState,
  type LastChange,
  lastChangeOf,
  legacyTimestamp,
  stateFromLegacy,
  stateToLegacy,
} from './state-model.ts';
import { acquireLock, type HeldLock, recordKeys, releaseLock, type StateStore } from './state-store.ts';

export interface Logger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface Deps {
  config: Config;
  configSource: string;
  store(env: Environment): StateStore;
  kube(env: Environment): KubeGateway;
  db(env: Environment): DatabaseGateway;
  health: HealthChecker;
  now(): Date;
  log: Logger;
}

export const BUILD_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const name = (what: string) =>
  z
    .string()
    .regex(
      NAME_PATTERN,
      `${what} must be lower-case letters, digits and "-" (no "/", "..", spaces or control characters)`,
    );

export const RunRequest = z
  .object({
    action: z.enum(ACTIONS as [Action, ...Action[]], {
      message: `action must be one of ${ACTIONS.join(', ')}`,
    }),
    customer: name('customer'),
    environment: name('environment'),
    build: z
      .string()
      .regex(
        BUILD_PATTERN,
        'build must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      )
      .refine((b) => !/^\.+$/.test(b), 'build must not be "." or ".."')
      .optional(),
    user: z
      .string()
      .trim()
      .min(1, 'user must not be empty')
      .max(128, 'user must be at most 128 characters')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
      .refine((u) => !/[\u0000-\u001f\u007f]/.test(u), 'user must not contain control characters'),
    dryRun: z.boolean().default(false),
  })
  .strict();
export type RunRequest = z.output<typeof RunRequest>;

export interface RestorePlan {
  fromBuild: string;
  key: string;
  /** The restore point as stored (legacy shape), for the audit output. */
  record: unknown;
  /** Counts recorded in the restore point, by deployment name. */
  replicas: Record<string, number>;
}

export interface ScaleChange {
  deployment: string;
  namespace: string;
  from: number;
  to: number;
}

export interface Skip {
  deployment: string;
  reason: string;
}

export interface RunContext {
  request: Required<Omit<RunRequest, 'build'>> & { build: string };
  executionId: string;
  startedAt: string;
  env: Environment;
  lock: HeldLock | null;
  previous: LastChange | null;
  restore: RestorePlan | null;
  preState?: Record<string, unknown>;
  changes?: ScaleChange[];
  skipped?: Skip[];
  database?: { issued: 'start' | 'stop' | null; stateBefore: string | null };
  poll?: Poll;
  error?: { Error: string; Cause: string };
}

export function generateBuildId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-${randomBytes(3).toString('hex')}`;
}

function parseRequest(raw: unknown): RunRequest {
  const parsed = RunRequest.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
    throw new CimError(ErrorNames.InvalidInput, `invalid run request: ${why}`);
  }
  return parsed.data;
}

/**
 * The latest up/down of the environment. Records written by this tool carry it in
 * `last_change`; legacy records do not, so a legacy get_env_state on top falls back to
 * scanning the history for the newest up/down.
 */
export async function findLastChange(store: StateStore, env: Environment): Promise<LastChange | null> {
  const keys = recordKeys(env, '_');
  const latest = await store.getJson(keys.actions);
  if (!latest) return null;
  const rec = actionFromLegacy(latest.json, keys.actions);
  const direct = lastChangeOf(rec);
  if (direct || rec.lastChange !== undefined) return direct;
  const all = (await store.listKeys(keys.historyPrefix, 5000)).filter((k) => k.endsWith('/actions.json'));
  let best: ActionRecord | null = null;
  for (const key of all) {
    const obj = await store.getJson(key);
    if (!obj) continue;
    const r = actionFromLegacy(obj.json, key);
    if (r.action !== 'get_env_state' && (!best || r.timestamp > best.timestamp)) best = r;
  }
  return best ? lastChangeOf(best) : null;
}

function refusal(req: RunRequest, previous: LastChange | null, env: Environment): string | null {
  const where = `${env.customer}/${env.environment}`;
  if (req.action === 'up') {
    if (!previous) {
      return `up is refused for ${where}: it has no recorded down, so there are no replica counts to restore. Run down first (or get_env_state to inspect).`;
    }
    if (previous.action === 'up' && previous.result === 'succeeded') {
      return `up is refused for ${where}: the last change was already an up (build ${previous.build}). Run get_env_state to inspect it.`;
    }
  }
  if (req.action === 'down' && previous?.action === 'down' && previous.result === 'succeeded') {
    return `down is refused for ${where}: it is already down since build ${previous.build}. Run up first, or get_env_state to inspect.`;
  }
  return null;
}

async function loadRestorePlan(
  store: StateStore,
  env: Environment,
  previous: LastChange,
): Promise<RestorePlan> {
  const fromBuild = previous.restorePointBuild ?? previous.build;
  const key = recordKeys(env, fromBuild).preState;
  const obj = await store.getJson(key);
  if (!obj) {
    throw new CimError(
      ErrorNames.RestorePointMissing,
      `the restore point s3://${store.bucket}/${key} (pre-state of build ${fromBuild}, the last down) is missing; restore it from a previous object version, nothing was changed.`,
    );
  }
  const state = stateFromLegacy(obj.json, key);
  return {
    fromBuild,
    key,
    record: obj.json,
    replicas: Object.fromEntries(state.deployments.map((d) => [d.name, d.replicas])),
  };
}

/** Prepare: validate, resolve, lock, apply refusal rules. Changes nothing but the lock. */
export async function prepare(
  deps: Deps,
  raw: { input: unknown; executionId?: string },
): Promise<RunContext> {
  const req = parseRequest(raw.input);
  const env = resolveEnvironment(deps.config, req.customer, req.environment, deps.configSource);
  const now = deps.now();
  const build = req.build ?? generateBuildId(now);
  const executionId = raw.executionId ?? `local:${build}`;
  const store = deps.store(env);
  const keys = recordKeys(env, build);

  if ((await store.listKeys(keys.buildPrefix, 1)).length > 0) {
    throw new CimError(
      ErrorNames.BuildAlreadyRecorded,
      `build "${build}" already has records under s3://${store.bucket}/${keys.buildPrefix}; audit records are never overwritten. Use a new build id (or omit it to generate one).`,
    );
  }
  const lock = req.dryRun
    ? null
    : await acquireLock(
        store,
        keys.lock,
        { owner: executionId, build, execution_id: executionId },
        now,
        env.lockTtlSeconds,
      );
  try {
    const previous = await findLastChange(store, env);
    const refused = refusal(req, previous, env);
    if (refused) throw new CimError(ErrorNames.ActionRefused, refused);
    const restore = req.action === 'up' && previous ? await loadRestorePlan(store, env, previous) : null;
    if (lock?.tookOverFrom) {
      deps.log.warn('took over an expired lock', {
        heldBy: lock.tookOverFrom.build,
        expiredAt: lock.tookOverFrom.expires_at,
      });
    }
    return {
      request: {
        action: req.action,
        customer: req.customer,
        environment: req.environment,
        build,
        user: req.user,
        dryRun: req.dryRun,
      },
      executionId,
      startedAt: now.toISOString(),
      env,
      lock,
      previous,
      restore,
    };
  } catch (err) {
    if (lock) await releaseLock(store, lock.key, lock.owner).catch(() => undefined);
    throw err;
  }
}

function snapshotDeps(deps: Deps, env: Environment) {
  return { kube: deps.kube(env), db: deps.db(env), health: deps.health, now: deps.now };
}

/** Snapshot pre-state: read everything and write pre-state.json before any change (not in a dry run). */
export async function snapshotPreState(deps: Deps, ctx: RunContext): Promise<RunContext> {
  const state = await snapshotEnvironment(snapshotDeps(deps, ctx.env), ctx.env, ctx.request.build);
  const preState = stateToLegacy(state);
  if (!ctx.request.dryRun) {
    await deps
      .store(ctx.env)
      .putJson(recordKeys(ctx.env, ctx.request.build).preState, preState, { ifNoneMatch: true });
  }
  return { ...ctx, preState };
}

/** Dry run: what down or up would change, from the pre-state just read. */
export function planDryRun(ctx: RunContext): {
  dryRun: true;
  action: Action;
  environment: string;
  build: string;
  plan: string[];
} {
  const pre = stateFromLegacy(ctx.preState, 'pre-state (in memory)');
  const plan: string[] = [];
  const db = label(ctx.env.database);
  if (ctx.request.action === 'down') {
    for (const d of pre.deployments) {
      if (!d.exists)
        plan.push(`deployment ${d.namespace}/${d.name}: does not exist, would be reported and skipped`);
      else
        plan.push(
          `deployment ${d.namespace}/${d.name}: scale ${d.replicas} -> 0 (remembered: ${d.replicas})`,
        );
    }
    plan.push(
      `${db}: ${pre.database.state === 'stopped' ? 'already stopped, nothing to do' : `stop (now '${pre.database.state}') and wait until 'stopped'`}`,
    );
  } else if (ctx.request.action === 'up') {
    plan.push(
      `${db}: ${pre.database.state === 'available' ? 'already available' : `start (now '${pre.database.state}') and wait until 'available'`}`,
    );
    for (const d of pre.deployments) {
      const decision = ctx.restore ? restoreDecision(d, d, ctx.restore) : { skip: 'no restore point' };
      plan.push(
        'skip' in decision
          ? `deployment ${d.namespace}/${d.name}: ${decision.skip}`
          : `deployment ${d.namespace}/${d.name}: scale ${d.replicas} -> ${decision.scaleTo} (from build ${ctx.restore?.fromBuild})`,
      );
    }
    plan.push('then wait for deployments to be available and health URLs to answer');
  } else {
    plan.push('get_env_state: read only');
  }
  return {
    dryRun: true,
    action: ctx.request.action,
    environment: `${ctx.env.customer}/${ctx.env.environment}`,
    build: ctx.request.build,
    plan,
  };
}

/** Scale deployments to zero; a missing deployment is reported and does not stop the others. */
export async function scaleDown(deps: Deps, ctx: RunContext): Promise<RunContext> {
  const kube = deps.kube(ctx.env);
  const pre = stateFromLegacy(ctx.preState, 'pre-state');
  const changes: ScaleChange[] = [];
  const skipped: Skip[] = [];
  for (const d of ctx.env.deployments) {
    const seen = pre.deployments.find((p) => p.name === d.name);
    if (!seen?.exists) {
      skipped.push({ deployment: d.name, reason: `deployment ${d.namespace}/${d.name} does not exist` });
      continue;
    }
    if (seen.replicas !== 0) await kube.scaleDeployment(d.namespace, d.name, 0);
    changes.push({ deployment: d.name, namespace: d.namespace, from: seen.replicas, to: 0 });
  }
  for (const s of skipped) deps.log.warn('skipped deployment', { ...s });
  return { ...ctx, changes, skipped };
}

/** Start or stop: converge one step towards the goal (already there is not an error). */
export async function databaseAction(deps: Deps, ctx: RunContext, goal: DatabaseGoal): Promise<RunContext> {
  const { state, issued } = await convergeDatabase(deps.db(ctx.env), ctx.env.database, goal);
  deps.log.info(issued ? `${issued} issued` : `no ${goal === 'stopped' ? 'stop' : 'start'} needed`, {
    state: state.state,
  });
  return { ...ctx, database: { issued, stateBefore: state.state } };
}

function timedOut(what: string, waited: number, last: string): CimError {
  return new CimError(
    ErrorNames.WaitTimedOut,
    `gave up waiting for ${what} after ${waited} s (last seen: ${last}); raise its waits.*.timeoutSeconds if this is normal, or investigate`,
  );
}

function poll(
  deps: Deps,
  ctx: RunContext,
  what: Poll['what'],
  stable: boolean,
  state: string,
  wait: { expectedSeconds: number; timeoutSeconds: number },
  whatLabel: string,
): Poll {
  const now = deps.now();
  const { startedAt, checks } = pollStart(ctx.poll, what, now);
  const elapsed = Math.round((now.getTime() - startedAt.getTime()) / 1000);
  if (!stable && elapsed >= wait.timeoutSeconds) throw timedOut(whatLabel, elapsed, state);
  return {
    what,
    startedAt: startedAt.toISOString(),
    checks: checks + 1,
    state,
    stable,
    elapsedSeconds: elapsed,
    waitSeconds: stable ? 0 : nextWaitSeconds(elapsed, wait.expectedSeconds, wait.timeoutSeconds),
  };
}

/** Poll the database towards the goal of the run's action; re-issues start/stop if it drifted back. */
export async function checkDatabase(deps: Deps, ctx: RunContext): Promise<Poll> {
  const goal: DatabaseGoal = ctx.request.action === 'down' ? 'stopped' : 'available';
  const { state, issued } = await convergeDatabase(deps.db(ctx.env), ctx.env.database, goal);
  const wait = goal === 'stopped' ? ctx.env.waits.databaseStop : ctx.env.waits.databaseStart;
  const seen = issued ? `${state.state} (${issued} issued)` : (state.state ?? 'unknown');
  return poll(
    deps,
    ctx,
    'database',
    state.state === goal && !issued,
    seen,
    wait,
    `${label(ctx.env.database)} to be '${goal}'`,
  );
}

/**
 * What `up` does with one deployment: restore only what was recorded, and only when it is
 * still at the 0 the down left; anything else is left as it is and reported.
 */
export function restoreDecision(
  target: { name: string; namespace: string },
  now: { exists: boolean; replicas: number },
  restore: RestorePlan,
): { scaleTo: number } | { skip: string } {
  const want = restore.replicas[target.name];
  if (!now.exists) return { skip: `deployment ${target.namespace}/${target.name} does not exist` };
  if (want === undefined)
    return { skip: `not in the restore point of build ${restore.fromBuild}; left at ${now.replicas}` };
  if (now.replicas !== 0 && now.replicas !== want) {
    return { skip: `changed while down (now ${now.replicas}, recorded ${want}); left as it is` };
  }
  return { scaleTo: want };
}

/** Restore the counts of the restore point; skip drifted, missing and unrecorded deployments, and say so. */
export async function restoreReplicas(deps: Deps, ctx: RunContext): Promise<RunContext> {
  if (!ctx.restore)
    throw new CimError(ErrorNames.RestorePointMissing, 'up has no restore point in its context');
  const kube = deps.kube(ctx.env);
  const changes: ScaleChange[] = [];
  const skipped: Skip[] = [];
  for (const d of ctx.env.deployments) {
    const now = await kube.readDeployment(d.namespace, d.name);
    const decision = restoreDecision(d, now, ctx.restore);
    if ('skip' in decision) {
      skipped.push({ deployment: d.name, reason: decision.skip });
      continue;
    }
    if (now.replicas !== decision.scaleTo) await kube.scaleDeployment(d.namespace, d.name, decision.scaleTo);
    changes.push({ deployment: d.name, namespace: d.namespace, from: now.replicas, to: decision.scaleTo });
  }
  for (const s of skipped) deps.log.warn('skipped deployment', { ...s });
  return { ...ctx, changes, skipped };
}

/** Poll the scaled deployments until each has exactly its new count: pods gone after a down, available after an up. */
export async function checkDeployments(deps: Deps, ctx: RunContext): Promise<Poll> {
  const kube = deps.kube(ctx.env);
  const pending: string[] = [];
  for (const c of ctx.changes ?? []) {
    const s = await kube.readDeployment(c.namespace, c.deployment);
    if (deploymentSettled(s)) continue;
    pending.push(
      c.to === 0
        ? `${c.deployment} (${s.currentReplicas} pods left)`
        : `${c.deployment} (${s.availableReplicas}/${s.replicas} available)`,
    );
  }
  const goal = ctx.request.action === 'down' ? 'stopped' : 'available';
  const state = pending.length ? `waiting for ${pending.join(', ')}` : `all ${goal}`;
  return poll(
    deps,
    ctx,
    'deployments',
    pending.length === 0,
    state,
    ctx.env.waits.deployments,
    `deployments to be ${goal}`,
  );
}

/** Poll the health URLs of the restored deployments until every one answers. */
export async function checkHealth(deps: Deps, ctx: RunContext): Promise<Poll> {
  const urls = ctx.env.deployments
    .filter((d) => d.healthUrl && (ctx.changes ?? []).some((c) => c.deployment === d.name && c.to > 0))
    .map((d) => d.healthUrl as string);
  const results = await Promise.all(urls.map((u) => deps.health.check(u, ctx.env.healthTimeoutSeconds)));
  const down = results.filter((r) => r.status !== 'up');
  const state = down.length
    ? `not answering: ${down.map((r) => `${r.url} (${r.httpStatus ?? r.error})`).join(', ')}`
    : `${results.length} URL(s) answering`;
  return poll(deps, ctx, 'health', down.length === 0, state, ctx.env.waits.health, 'health URLs to answer');
}

export interface RunSummary {
  result: 'succeeded' | 'failed';
  action: Action;
  customer: string;
  environment: string;
  build: string;
  executionId: string;
  dryRun: boolean;
  preState: Record<string, unknown> | null;
  postState: Record<string, unknown> | null;
  restorePoint: { build: string; key: string; replicas: Record<string, number>; record: unknown } | null;
  changes: ScaleChange[];
  skipped: Skip[];
  records: string[];
  error?: { name: string; message: string };
  lock: 'released' | 'absent' | 'not-ours' | 'none' | 'release-failed';
}

function nextLastChange(ctx: RunContext, result: 'succeeded' | 'failed'): LastChange | null {
  const { action, build } = ctx.request;
  if (action === 'get_env_state') return ctx.previous;
  const prev = ctx.previous;
  // Keep the counts of the first down while a down or an up has not completed: a second
  // down's pre-state would remember zeros.
  const carry = prev && prev.result === 'failed' ? prev.restorePointBuild : null;
  if (action === 'down') return { action, build, result, restorePointBuild: carry ?? build };
  return {
    action,
    build,
    result,
    restorePointBuild: result === 'failed' ? (ctx.restore?.fromBuild ?? carry) : null,
  };
}

async function writeRecords(
  deps: Deps,
  ctx: RunContext,
  result: 'succeeded' | 'failed',
  post: EnvironmentState | null,
  error?: { name: string; message: string },
): Promise<string[]> {
  const store = deps.store(ctx.env);
  const keys = recordKeys(ctx.env, ctx.request.build);
  const written: string[] = [];
  if (post) {
    await store.putJson(keys.postState, stateToLegacy(post), { ifNoneMatch: true });
    written.push(keys.postState);
  }
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
    ...(ctx.skipped?.length ? { skipped: ctx.skipped } : {}),
  };
  const lastChange = nextLastChange(ctx, result);
  if (lastChange) record.lastChange = lastChange;
  const json = actionToLegacy(record);
  await store.putJson(keys.historyActions, json, { ifNoneMatch: true });
  written.push(keys.historyActions);
  await store.putJson(keys.actions, json);
  written.push(keys.actions);
  return written;
}

async function release(deps: Deps, ctx: RunContext): Promise<RunSummary['lock']> {
  if (!ctx.lock) return 'none';
  try {
    return await releaseLock(deps.store(ctx.env), ctx.lock.key, ctx.lock.owner);
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
  error?: { name: string; message: string },
): RunSummary {
  return {
    result,
    action: ctx.request.action,
    customer: ctx.request.customer,
    environment: ctx.request.environment,
    build: ctx.request.build,
    executionId: ctx.executionId,
    dryRun: ctx.request.dryRun,
    preState: ctx.preState ?? null,
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
    skipped: ctx.skipped ?? [],
    records,
    lock,
    ...(error ? { error } : {}),
  };
}

/** Record: post-state, history actions, environment actions, then release the lock. */
export async function recordResult(deps: Deps, ctx: RunContext): Promise<RunSummary> {
  const post = await snapshotEnvironment(snapshotDeps(deps, ctx.env), ctx.env, ctx.request.build);
  const records = [
    recordKeys(ctx.env, ctx.request.build).preState,
    ...(await writeRecords(deps, ctx, 'succeeded', post)),
  ];
  return summary(ctx, 'succeeded', post, records, await release(deps, ctx));
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

/** Catch-all: record what failed and where, release the lock; never hides the original error. */
export async function recordFailure(deps: Deps, ctx: RunContext): Promise<RunSummary> {
  const error = { name: ctx.error?.Error ?? 'Error', message: causeMessage(ctx.error?.Cause ?? '') };
  let post: EnvironmentState | null = null;
  let records: string[] = [];
  if (!ctx.request.dryRun) {
    try {
      post = await snapshotEnvironment(snapshotDeps(deps, ctx.env), ctx.env, ctx.request.build);
    } catch (err) {
      deps.log.warn('post-state unreadable after failure', { error: errorMessage(err) });
    }
    try {
      records = await writeRecords(deps, ctx, 'failed', post, error);
    } catch (err) {
      deps.log.warn('could not record the failure', { error: errorMessage(err) });
    }
  }
  return summary(ctx, 'failed', post, records, await release(deps, ctx), error);
}
