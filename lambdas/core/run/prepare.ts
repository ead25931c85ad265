// Owns the first step of every run: validate the request, resolve the environment, read
// its last change and restore point, read its state and check everything the run will need
// (preflight), and only then take the lock. Everything here happens before any change; a
// refusal writes nothing at all.
import { randomBytes } from 'node:crypto';
import { resolveEnvironment } from '../config/catalog.ts';
import type { Environment } from '../config/schema.ts';
import {
  type Deps,
  generateBuildId,
  parseRequest,
  type ResolvedRequest,
  type RunContext,
  type RunRequest,
  writes,
} from '../contracts.ts';
import { classifyDatabaseState, label } from '../database/rules.ts';
import { CimError, ErrorNames, errorMessage, errorName } from '../errors.ts';
import { recordKeys, type StateStore } from '../gateways/store.ts';
import { ingressPhase, ingressRecordBuild, withinBounds } from '../ingresses/rules.ts';
import { NODE_READER_ROLE, NODE_READERS_GROUP, nodegroupInError, scalingError } from '../nodegroups/rules.ts';
import { nodeLister } from '../nodegroups/steps.ts';
import { findLastChange } from '../records/actions.ts';
import { loadChosenRestorePoint } from '../records/history.ts';
import {
  consumeHold,
  describeHold,
  holdActive,
  holdDecision,
  isScheduledUser,
  readHold,
} from '../records/hold.ts';
import { ingressRecordsOf } from '../records/ingress-state.ts';
import type { EnvironmentState, LastChange } from '../records/legacy-state.ts';
import { acquireLock, describeHolder, readLock, releaseLock } from '../records/lock.ts';
import { type RestorePoint, validateRestorePoint } from '../records/restore-point.ts';
import { clearWake, describeWake, readWake } from '../records/wake.ts';
import { discoverTargets, newSinceRestorePoint, targetsFromRecord } from '../workloads/discovery.ts';
import type { Skip } from '../workloads/kind.ts';
import { changedSinceDown, preflightProblem } from '../workloads/kinds.ts';
import { withTargets } from '../workloads/targets.ts';
import { fitPayload } from './payload-limit.ts';
import { snapshotEnvironment } from './snapshot.ts';
import { triggerOf } from './trigger.ts';
import { wakeInEffect, wakePhase, wakeSkips } from './wake-rules.ts';
import { decideRunWake, type WakeRun } from './wake-run.ts';

/** The legacy rules, plus: a change that never finished does not count as done. */
function refusal(req: RunRequest, previous: LastChange | null, env: Environment): string | null {
  const where = `${env.customer}/${env.environment}`;
  if (req.action === 'up') {
    if (!previous) {
      return `up is refused for ${where}: it has no recorded down, so there are no replica counts to restore. Run down first (or cim status to inspect).`;
    }
    if (previous.action === 'up' && previous.result === 'succeeded') {
      return `up is refused for ${where}: the last change was already an up (build ${previous.build}). Run cim status to inspect it.`;
    }
  }
  if (req.action === 'down' && previous?.action === 'down' && previous.result === 'succeeded') {
    return `down is refused for ${where}: it is already down since build ${previous.build}. Run up first, or cim status to inspect.`;
  }
  return null;
}

async function loadRestorePoint(
  store: StateStore,
  configured: Environment,
  previous: LastChange,
): Promise<{ restore: RestorePoint; env: Environment }> {
  let env = configured;
  const fromBuild = previous.restorePointBuild ?? previous.build;
  const key = recordKeys(env, fromBuild).preState;
  const obj = await store.getJson(key);
  if (!obj) {
    throw new CimError(
      ErrorNames.RestorePointMissing,
      `the restore point s3://${store.bucket}/${key} (pre-state of build ${fromBuild}, the last down) is missing; restore it from a previous object version. Nothing was changed.`,
    );
  }
  // Discovery: up acts on exactly what the restore point recorded.
  if (env.discover) env = withTargets(env, targetsFromRecord(obj.json, key, env));
  return { restore: validateRestorePoint(obj.json, key, env, fromBuild), env };
}

function preflightError(env: Environment, problems: string[]): CimError {
  return new CimError(
    ErrorNames.PreflightFailed,
    `preflight of ${env.customer}/${env.environment} failed, nothing was changed: ${problems.join('; ')}`,
  );
}

/** Everything a down/up needs, checked against what exists, before the first change. */
async function preflight(deps: Deps, env: Environment, req: RunRequest, state: EnvironmentState) {
  const problems: string[] = [];
  const db = state.database;
  if (!db.exists) {
    problems.push(
      `${label(env.database)} does not exist in ${env.target ? `account ${env.target.account} (${env.region}, as ${env.target.roleArn})` : env.region}: check database.identifier / database.kind / region${env.target ? ' / account' : ''} in ${deps.configSource}`,
    );
  } else if (classifyDatabaseState(db.state) === 'error') {
    problems.push(`${label(env.database)} is in error state '${db.state}': fix it in the RDS console first`);
  }
  for (const n of state.nodegroups ?? []) {
    const what = `EKS node group ${env.cluster}/${n.name}`;
    if (!n.exists)
      problems.push(
        `${what} does not exist in ${env.region}: check nodegroups (and cluster) in ${deps.configSource}`,
      );
    else if (nodegroupInError(n.status))
      problems.push(`${what} is in state ${n.status}: fix it in the EKS console first`);
    else if (req.action === 'down') {
      const why = scalingError(n);
      if (why) problems.push(`${what} has a scaling config down could not restore: ${why}`);
    }
  }
  // Up waits until each node group's nodes are Ready: listing nodes (cluster-wide) must work
  // before node groups or the database are touched, or the run stops half-way.
  if (env.nodegroups.length && req.action !== 'get_env_state') {
    try {
      await nodeLister(deps, env).listNodes(`eks.amazonaws.com/nodegroup=${env.nodegroups[0]}`);
    } catch (err) {
      const name = errorName(err);
      if (name !== ErrorNames.KubernetesAccessDenied && name !== ErrorNames.ConfigInvalid) throw err;
      problems.push(
        `cannot list nodes for nodegroups (${errorMessage(err).split(':')[0]}): bind the ClusterRole ${NODE_READER_ROLE} (get, list on nodes) to the group ${NODE_READERS_GROUP} and give the orchestrator that group (README "Kubernetes access")`,
      );
    }
  }
  const existing = state.deployments.filter((d) => d.exists);
  if (existing.length === 0 && !(state.workloads ?? []).some((w) => w.exists)) {
    problems.push(
      `none of the configured deployments (${env.deployments.map((d) => `${d.namespace}/${d.name}`).join(', ')}) exists: check namespace and deployments in ${deps.configSource}`,
    );
  }
  if (req.action === 'down') {
    for (const d of existing) {
      if (d.replicas > env.maxReplicas) {
        problems.push(
          `deployment ${d.namespace}/${d.name} runs ${d.replicas} replicas, above maxReplicas ${env.maxReplicas}: up would refuse to restore it; raise maxReplicas for this environment`,
        );
      }
    }
    for (const s of state.workloads ?? []) {
      const problem = preflightProblem(s, env);
      if (problem) problems.push(problem);
    }
  }
  if (problems.length === 0) {
    // Permission to scale, asked of the API server without changing anything (dry run).
    const kube = deps.kube(env);
    for (const d of existing) {
      try {
        await kube.checkScale(d.namespace, d.name);
      } catch (err) {
        if (errorName(err) !== ErrorNames.KubernetesAccessDenied) throw err;
        problems.push(errorMessage(err));
      }
    }
  }
  if (problems.length) throw preflightError(env, problems);
}

/** The restore point without its record: that stays in S3 (`key`), the context carries the counts. */
function withoutRecord(r: RestorePoint): RestorePoint {
  const { record: _record, ...rest } = r;
  return rest;
}

/** Audit records are never overwritten: a build that already has records is refused. */
async function refuseRecordedBuild(store: StateStore, buildPrefix: string, build: string): Promise<void> {
  if ((await store.listKeys(buildPrefix, 1)).length > 0) {
    throw new CimError(
      ErrorNames.BuildAlreadyRecorded,
      `build "${build}" already has records under s3://${store.bucket}/${buildPrefix}; audit records are never overwritten. Use a new build id (or omit it to generate one).`,
    );
  }
}

/**
 * The active hold: it skips a scheduled run, and a manual run is warned but goes on. A
 * scheduled run that meets an `endsAfterSkip` hold consumes it (a conditional write on
 * hold.json, the one write before the lock) and is skipped; when another run consumed it
 * first, the write fails and this run decides again on what that run wrote.
 */
async function activeHold(
  deps: Deps,
  store: StateStore,
  env: Environment,
  req: ResolvedRequest,
  executionId: string,
  now: Date,
) {
  const where = `${env.customer}/${env.environment}`;
  const run = { action: req.action, build: req.build, executionId };
  const scheduled = isScheduledUser(req.user);
  // Three reads at most: a lost race with another run leaves a consumed hold, decided without a write.
  for (let round = 0; ; round++) {
    const read = await readHold(store, env);
    const held = read?.hold ?? null;
    const decision = held ? holdDecision(held, now, run) : 'none';
    const hold = held && (holdActive(held, now) || decision !== 'none') ? held : null;
    if (!read || !hold || decision === 'none') return hold;
    if (!scheduled) {
      deps.log.warn(`${where} is ${describeHold(hold)}; a manual ${req.action} ignores the hold`);
      return hold;
    }
    let ends = `. Nothing was changed. Lift it with: cim hold --clear --select ${where}`;
    if (decision === 'consume' && writes(req)) {
      if (!(await consumeHold(store, env, read, run, now))) {
        if (round < 2) continue;
        throw new CimError(
          ErrorNames.ConditionalWriteConflict,
          `the hold of ${where} kept changing while this scheduled ${req.action} read it; nothing was changed`,
        );
      }
      ends = `; this skip ends the hold (consumed by build ${req.build}). Nothing else was changed.`;
    } else if (hold.consumed) {
      ends = `; the hold was consumed by this build (${hold.consumed.build}) at ${hold.consumed.at} and has ended. Nothing else was changed.`;
    }
    throw new CimError(
      ErrorNames.EnvironmentOnHold,
      `scheduled ${req.action} of ${where} skipped: ${describeHold(hold.consumed ? { ...hold, until: hold.consumed.untilBefore } : hold)}${ends}`,
    );
  }
}

/**
 * A scheduled down of an environment woken on demand is skipped, as a hold skips it (the
 * fleet counts it as skipped). Only scheduled downs read the wake: a manual down goes ahead
 * and, recorded after the wake's up, ends the wake.
 *
 * A scheduled up of an environment already up from a wake takes it over: the schedule wants
 * it up until its next scheduled down, so the wake is ended (its record removed, If-Match) and
 * its time to live no longer puts it to sleep in working hours. The up itself has nothing to
 * do and is refused as any up of an environment that is up. (A wake whose up is still running
 * holds the lock: the scheduled up fails on it and the wake keeps its time to live.)
 */
async function applyWakeRules(
  store: StateStore,
  env: Environment,
  req: RunRequest,
  previous: LastChange | null,
  now: Date,
): Promise<void> {
  if (!isScheduledUser(req.user) || (req.action !== 'down' && req.action !== 'up')) return;
  const found = await readWake(store, env);
  const wake = found?.wake ?? null;
  if (req.action === 'up') {
    if (found && wake && wakeInEffect(wake, previous, now) && wakePhase(wake, previous) === 'awake') {
      const ended = await clearWake(store, env, found.etag);
      throw new CimError(
        ErrorNames.ActionRefused,
        `scheduled up of ${env.customer}/${env.environment}: it is already ${describeWake(wake)}; ${ended ? 'the schedule takes it over, so the wake ended and its time to live will not put it to sleep' : 'its wake changed meanwhile and was left as it is'}. Nothing else was changed.`,
      );
    }
    return;
  }
  const skip = wakeSkips(req, wake, previous, now);
  if (skip) {
    throw new CimError(
      ErrorNames.EnvironmentOnHold,
      `scheduled down of ${env.customer}/${env.environment} skipped: ${skip}. Nothing was changed.`,
    );
  }
}

/**
 * Status: the wake in effect, said beside the hold. A wake.json that does not read as one is
 * warned about, not fatal: a status must answer whatever the records say.
 */
async function wakeForStatus(
  deps: Deps,
  store: StateStore,
  env: Environment,
  previous: LastChange | null,
  now: Date,
) {
  try {
    const wake = (await readWake(store, env))?.wake ?? null;
    return wakeInEffect(wake, previous, now) ? wake : null;
  } catch (err) {
    deps.log.warn(`the wake record is not shown: ${errorMessage(err)}`);
    return null;
  }
}

/**
 * The Ingresses an up gives back come from the down that pointed them (the last down's restore
 * point: their marker names its record), not from the build chosen for the counts, whose
 * records would no longer match what that down left. Only their records are carried (within
 * the same bounds as any restore point's). That pre-state missing does not block the chosen
 * build's restore (the way out when it is lost): its Ingresses are reported, left as they are.
 */
async function withLastDownIngresses(
  store: StateStore,
  env: Environment,
  chosen: RestorePoint,
  previous: LastChange,
): Promise<{ restore: RestorePoint; skipped: Skip[] }> {
  const build = ingressRecordBuild(previous);
  if (build === chosen.fromBuild) return { restore: chosen, skipped: [] };
  const { ingresses: _chosen, ...restore } = chosen;
  const key = recordKeys(env, build).preState;
  const obj = await store.getJson(key);
  if (!obj) {
    const skipped: Skip[] = env.sleepingBackend
      ? [
          {
            deployment: '*',
            kind: 'Ingress',
            reason: `the Ingresses pointed by build ${build} (the last down) cannot be given back: its pre-state s3://${store.bucket}/${key} is missing; any still on the sleeping backend need their spec back by hand`,
          },
        ]
      : [];
    return { restore, skipped };
  }
  const ingresses = ingressRecordsOf(
    obj.json,
    build,
    env,
    (why) =>
      new CimError(
        ErrorNames.StateRecordInvalid,
        `the pre-state ${key} of build ${build} (the last down, which pointed the Ingresses) cannot be trusted: ${why}. Nothing was changed.`,
      ),
  );
  return { restore: { ...restore, ...(ingresses?.length ? { ingresses } : {}) }, skipped: [] };
}

/** What an up restores: the chosen build's restore point, or the last down's (with what discovery found then). */
async function restoreFor(
  store: StateStore,
  env: Environment,
  req: RunRequest,
  previous: LastChange | null,
): Promise<{ restore: RestorePoint | null; env: Environment; skipped: Skip[] }> {
  if (req.action !== 'up' || !previous) return { restore: null, env, skipped: [] };
  // A chosen build (--restore-from-build) acts on the configured targets; the last down's
  // restore point also names what discovery found then.
  if (req.restoreFromBuild) {
    const chosen = await loadChosenRestorePoint(store, env, req.restoreFromBuild);
    return { ...(await withLastDownIngresses(store, env, chosen, previous)), env };
  }
  return { ...(await loadRestorePoint(store, env, previous)), skipped: [] };
}

/**
 * The environment's state now, with the targets discovery finds (or the workloads new since
 * the restore point); an API server that refuses the reads fails the preflight.
 */
async function readState(
  deps: Deps,
  configured: Environment,
  restore: RestorePoint | null,
  build: string,
  action: RunRequest['action'],
) {
  let env = configured;
  let newSince: Skip[] = [];
  try {
    if (env.discover && !restore) env = withTargets(env, await discoverTargets(deps.kube(env), env));
    if (env.discover && restore)
      newSince = await newSinceRestorePoint(deps.kube(env), env, env, restore.fromBuild);
    const preState = await snapshotEnvironment(
      {
        kube: deps.kube(env),
        db: deps.db(env),
        ...(env.nodegroups.length ? { nodegroups: deps.nodegroups(env) } : {}),
        health: deps.health,
        now: deps.now,
      },
      env,
      build,
      { databaseMembers: true, ingresses: action === 'down' },
    );
    if (!preState.ingresses) return { env, preState, newSince };
    // Only what a record can hold is pointed (and so restored); the rest is reported.
    const { kept, skipped } = withinBounds(preState.ingresses);
    return { env, preState: { ...preState, ingresses: kept }, newSince: [...newSince, ...skipped] };
  } catch (err) {
    if (errorName(err) === ErrorNames.KubernetesAccessDenied) throw preflightError(env, [errorMessage(err)]);
    throw err;
  }
}

/**
 * Takes the lock, after reading actions.json again: a refusal writes nothing, and a run that
 * finished meanwhile would make this run's decisions stale.
 */
async function lockFor(
  deps: Deps,
  store: StateStore,
  env: Environment,
  base: RunContext,
  keys: { lock: string; actions: string },
  now: Date,
): Promise<RunContext> {
  const { request: req, executionId } = base;
  const where = { customer: env.customer, environment: env.environment };
  const changedMeanwhile = () =>
    new CimError(
      ErrorNames.EnvironmentLocked,
      `${where.customer}/${where.environment} changed while this run prepared (another run recorded a result); nothing was changed. Run it again.`,
    );
  // A refusal writes nothing: look again (a read) before taking the lock. A run that finished
  // meanwhile wrote actions.json before releasing its lock, so either this read sees its
  // result, or the lock below is still its own and refused. Only a whole run started and
  // finished between this read and the lock is caught after it (and the lock is released).
  const before = await store.getJson(keys.actions);
  if ((before?.etag ?? null) !== base.latestEtag) throw changedMeanwhile();
  const lock = await acquireLock(
    store,
    keys.lock,
    {
      owner: executionId,
      build: req.build,
      execution_id: executionId,
      action: req.action,
      user: req.user,
      ...(deps.runner ? { host: deps.runner.host, pid: deps.runner.pid } : {}),
    },
    now,
    env.lockTtlSeconds,
    where,
  );
  try {
    // What was read before the lock must still be what is there: a run that finished in
    // between changed actions.json, and this run's decisions would be stale.
    const again = await store.getJson(keys.actions);
    if ((again?.etag ?? null) !== base.latestEtag) throw changedMeanwhile();
    if (lock.tookOverFrom) {
      deps.log.warn('took over an expired lock', {
        heldBy: lock.tookOverFrom.execution_id,
        expiredAt: lock.tookOverFrom.expires_at,
      });
    }
    return { ...base, lock: { key: lock.key, owner: lock.owner } };
  } catch (err) {
    await releaseLock(store, lock).catch(() => undefined);
    throw err;
  }
}

/**
 * What Prepare answers for a wake that runs no up: a wake in effect joined, or a renewal (the
 * environment still up from an expired wake). No lock, no state read: "Record wake" renews,
 * and the workflow ends without a run record.
 */
export interface WakeAnswer {
  request: ResolvedRequest;
  executionId: string;
  startedAt: string;
  wakeRun: WakeRun;
}

/**
 * A wake's up never fails on a lock held by a running change (a down putting it to sleep, or
 * another wake's up): it waits for that run to end (Prepare's Retry on WakeWaitsForRun, with
 * a deadline), then decides again. An expired lock is left to acquireLock (taken over).
 */
async function waitForRunningChange(
  store: StateStore,
  env: Environment,
  lockKey: string,
  executionId: string,
  now: Date,
): Promise<void> {
  const held = await readLock(store, lockKey);
  if (!held || held.info.owner === executionId) return;
  const expires = Date.parse(held.info.expires_at ?? '');
  if (Number.isFinite(expires) && expires < now.getTime()) return;
  throw new CimError(
    ErrorNames.WakeWaitsForRun,
    `${env.customer}/${env.environment} is locked by ${describeHolder(held.info)}: the wake waits for that run to end, then wakes it. Nothing was changed.`,
  );
}

/** Prepare: everything before the first change. Writes nothing but the lock. */
export async function prepare(
  deps: Deps,
  raw: { input: unknown; executionId?: string },
): Promise<RunContext> {
  const out = await prepareStep(deps, raw);
  if ('wakeRun' in out && !('preState' in out))
    throw new CimError(ErrorNames.InvalidInput, 'a wake is decided by the environment workflow only');
  return out as RunContext;
}

/** The Prepare Task: a run context, or the answer of a wake that runs no up. */
export async function prepareStep(
  deps: Deps,
  raw: { input: unknown; executionId?: string },
): Promise<RunContext | WakeAnswer> {
  const req = parseRequest(raw?.input);
  if (req.wake && req.dryRun)
    throw new CimError(
      ErrorNames.InvalidInput,
      'invalid run request: a wake is not a dry run (dryRun with wake); plan the up with "dryRun": true and no wake',
    );
  // parseRequest checked that the input is an object; it drops the parent's id, read it here.
  const parent = (raw.input as { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID?: unknown })
    .AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID;
  const trigger = triggerOf({
    user: req.user,
    ...(typeof parent === 'string' ? { startedByExecution: parent } : {}),
  });
  const configured = resolveEnvironment(deps.config, req.customer, req.environment, deps.configSource);
  const now = deps.now();
  const build = req.build ?? generateBuildId(now);
  const executionId = raw.executionId ?? `local:${build}:${randomBytes(4).toString('hex')}`;
  const request = { ...req, build };
  const store = deps.store(configured);
  const keys = recordKeys(configured, build);
  const writing = writes(request);

  if (writing) await refuseRecordedBuild(store, keys.buildPrefix, build);
  const hold = await activeHold(deps, store, configured, request, executionId, now);
  const latest = await store.getJson(keys.actions);
  const previous = await findLastChange(store, configured, latest);
  await applyWakeRules(store, configured, req, previous, now);
  const wakeRun = request.wake
    ? await decideRunWake(store, configured, { ...request, wake: request.wake }, previous, now)
    : null;
  if (wakeRun && wakeRun.outcome !== 'wake')
    return { request, executionId, startedAt: now.toISOString(), wakeRun };
  // A wake joins the one in effect at once; its own up waits for a running change to end.
  if (wakeRun) await waitForRunningChange(store, configured, keys.lock, executionId, now);
  const refused = refusal(req, previous, configured);
  if (refused) throw new CimError(ErrorNames.ActionRefused, refused);
  const wake =
    req.action === 'get_env_state' ? await wakeForStatus(deps, store, configured, previous, now) : null;
  const {
    restore,
    env: restoring,
    skipped: ingressesLost,
  } = await restoreFor(store, configured, req, previous);
  const {
    env,
    preState,
    newSince: discovered,
  } = await readState(deps, restoring, restore, build, req.action);
  if (req.action !== 'get_env_state') await preflight(deps, env, req, preState);
  const newSince = restore
    ? [
        ...discovered,
        ...changedSinceDown(restore.workloads, preState.workloads ?? [], restore.fromBuild),
        ...ingressesLost,
      ]
    : discovered;

  let base: RunContext = {
    request,
    executionId,
    startedAt: now.toISOString(),
    lock: null,
    previous,
    latestEtag: latest?.etag ?? null,
    restore: restore ? withoutRecord(restore) : null,
    preState,
    holder: null,
    hold,
    ...(wake ? { wake } : {}),
    ...(wakeRun ? { wakeRun } : {}),
    trigger,
    phases: {
      nodegroups: env.nodegroups.length > 0,
      autoscalers: Object.keys(restore?.workloads?.hpas ?? {}).length > 0,
      ingresses: ingressPhase(req.action, preState, restore),
    },
    ...(env.discover ? { targets: { deployments: env.deployments, workloads: env.workloads } } : {}),
    ...(newSince.length ? { workloadSkipped: newSince } : {}),
  };
  // Measured with the lock it will hold (same size as a holder), before taking it.
  const fitted = fitPayload({ ...base, lock: { key: keys.lock, owner: executionId } }, env);
  if (fitted.requestsDropped) {
    deps.log.warn(
      "the pods' requests are left out of the pre-state: the run context would be too large with them",
      {
        workloads: env.deployments.length + env.workloads.length,
      },
    );
    base = { ...fitted.ctx, lock: null };
  }
  if (!writing) return { ...base, holder: (await readLock(store, keys.lock))?.info ?? null };
  try {
    return await lockFor(deps, store, env, base, keys, now);
  } catch (err) {
    // A run that took the lock (or recorded) since the look above: a wake waits for it too.
    if (!request.wake || errorName(err) !== ErrorNames.EnvironmentLocked) throw err;
    throw new CimError(
      ErrorNames.WakeWaitsForRun,
      `${errorMessage(err)} The wake waits for that run to end, then decides again.`,
    );
  }
}
