// Owns the environment lock: one object next to actions.json, created with
// If-None-Match, owned by one execution (never by a build id, which two runs can share),
// fenced before every change, touched as a heartbeat, and cleared by `cim unlock` only when
// its holder is provably gone.
import { CimError, ErrorNames } from '../errors.ts';
import { PreconditionFailed, type StateStore } from '../gateways/store.ts';

export interface LockInfo {
  /** The execution that holds the lock: a Step Functions execution ARN or a local run id. */
  owner: string;
  build: string;
  execution_id: string;
  action: string;
  user: string;
  /** Local runs: where the holder runs, so `cim unlock` can tell a dead process. */
  host?: string;
  pid?: number;
  acquired_at: string;
  expires_at: string;
  heartbeat_at: string;
  /** The step the holder entered last. */
  step: string;
}

export interface HeldLock {
  key: string;
  owner: string;
  tookOverFrom?: LockInfo;
}

export type LockRequest = Omit<LockInfo, 'acquired_at' | 'expires_at' | 'heartbeat_at' | 'step'>;

/** How `cim unlock` tells that the holder of a lock is gone. */
export interface HolderProbe {
  /** Local runs on this host: is the process still there? */
  processAlive(pid: number): boolean;
  host: string;
  /** Deployed runs: the execution's status (RUNNING, SUCCEEDED, ...), or null if unknown. */
  executionStatus?(executionArn: string): Promise<string | null>;
}

/** A local run touches its lock at least this often; past the lease a silent holder counts as gone. */
export const HEARTBEAT_SECONDS = 20;
export const LOCAL_LEASE_SECONDS = 120;

export function unlockCommand(customer: string, environment: string): string {
  return `cim unlock --customer ${customer} --env ${environment}`;
}

function describeHolder(held: Partial<LockInfo>): string {
  return `${held.action ?? 'a run'} build ${held.build ?? '?'} by ${held.user ?? '?'} (execution ${held.execution_id ?? held.owner ?? '?'}${held.host ? ` on ${held.host} pid ${held.pid}` : ''}), since ${held.acquired_at ?? '?'}, last step "${held.step ?? '?'}" at ${held.heartbeat_at ?? '?'}`;
}

/**
 * A lock record this tool could not have written (no owner or no expiry, e.g. `{}`): no run
 * holds it, and it would never expire, so `cim unlock` clears it.
 */
export function malformedLock(held: Partial<LockInfo>): string | null {
  if (typeof held.owner !== 'string' || held.owner === '') return 'it names no owner';
  if (!Number.isFinite(Date.parse(String(held.expires_at ?? '')))) return 'it has no valid expires_at';
  return null;
}

export function lockedError(
  store: StateStore,
  key: string,
  held: Partial<LockInfo> | undefined,
  where: { customer: string; environment: string },
): CimError {
  const malformed = held ? malformedLock(held) : null;
  if (malformed)
    return new CimError(
      ErrorNames.EnvironmentLocked,
      `${where.customer}/${where.environment} has a malformed lock record s3://${store.bucket}/${key} (${malformed}): no run of this tool wrote it, and it never expires. Clear it with \`${unlockCommand(where.customer, where.environment)}\`.`,
    );
  const who = held ? describeHolder(held) : 'another run';
  return new CimError(
    ErrorNames.EnvironmentLocked,
    `${where.customer}/${where.environment} is locked by ${who}. Wait for that run to finish (cim status shows it); if it died, run \`${unlockCommand(where.customer, where.environment)}\` (lock object s3://${store.bucket}/${key}).`,
  );
}

/** Reads the lock; a lock object that does not parse counts as held by an unknown run. */
export async function readLock(
  store: StateStore,
  key: string,
): Promise<{ info: Partial<LockInfo>; etag: string } | null> {
  const current = await store.getJson(key);
  if (!current) return null;
  const info = (current.json && typeof current.json === 'object' ? current.json : {}) as Partial<LockInfo>;
  return { info, etag: current.etag };
}

/**
 * Takes the lock: create-if-absent; re-entrant for its own execution (a retried Prepare);
 * a lock past its expiry is taken over with If-Match on the etag read, so two runs racing
 * for a stale lock cannot both win.
 */
export async function acquireLock(
  store: StateStore,
  key: string,
  req: LockRequest,
  now: Date,
  ttlSeconds: number,
  where: { customer: string; environment: string },
): Promise<HeldLock> {
  const body: LockInfo = {
    ...req,
    acquired_at: now.toISOString(),
    expires_at: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
    heartbeat_at: now.toISOString(),
    step: 'Prepare',
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await store.putJson(key, body, { ifNoneMatch: true });
      return { key, owner: req.owner };
    } catch (err) {
      if (!(err instanceof PreconditionFailed)) throw err;
    }
    const current = await readLock(store, key);
    if (!current) continue; // released between our write and our read: try once more
    const held = current.info;
    if (held.owner === req.owner) return { key, owner: req.owner };
    const expires = Date.parse(held.expires_at ?? '');
    if (Number.isFinite(expires) && expires < now.getTime()) {
      try {
        await store.putJson(key, body, { ifMatch: current.etag });
        return { key, owner: req.owner, tookOverFrom: held as LockInfo };
      } catch (err) {
        if (err instanceof PreconditionFailed) throw lockedError(store, key, held, where);
        throw err;
      }
    }
    throw lockedError(store, key, held, where);
  }
  throw lockedError(store, key, undefined, where);
}

/**
 * Fencing: before a change, check that this execution still holds the lock and record the
 * step and a heartbeat in it. A run whose lock was taken over or cleared stops here.
 */
export async function fenceLock(store: StateStore, lock: HeldLock, step: string, now: Date): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await readLock(store, lock.key);
    if (!current || current.info.owner !== lock.owner) {
      throw new CimError(
        ErrorNames.LockLost,
        `this run (${lock.owner}) no longer holds the environment lock s3://${store.bucket}/${lock.key} (${current ? `now held by ${describeHolder(current.info)}` : 'it was cleared'}); stopped before "${step}" so that two runs never change the environment at once. Check cim status before running again.`,
      );
    }
    try {
      await store.putJson(
        lock.key,
        { ...current.info, step, heartbeat_at: now.toISOString() },
        { ifMatch: current.etag },
      );
      return;
    } catch (err) {
      // A heartbeat of our own raced this write: read again.
      if (!(err instanceof PreconditionFailed)) throw err;
    }
  }
}

/** Releases the lock if this execution still owns it; never deletes someone else's lock. */
export async function releaseLock(
  store: StateStore,
  lock: HeldLock,
): Promise<'released' | 'absent' | 'not-ours'> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await readLock(store, lock.key);
    if (!current) return 'absent';
    if (current.info.owner !== lock.owner) return 'not-ours';
    try {
      await store.deleteObject(lock.key, current.etag);
      return 'released';
    } catch (err) {
      if (!(err instanceof PreconditionFailed)) throw err;
    }
  }
  return 'not-ours';
}

export type HolderVerdict = { gone: true; why: string } | { gone: false; why: string };

/** Is the holder of this lock provably gone? Only then may `cim unlock` clear it. */
export async function holderGone(
  held: Partial<LockInfo>,
  now: Date,
  probe: HolderProbe,
): Promise<HolderVerdict> {
  const malformed = malformedLock(held);
  if (malformed)
    return { gone: true, why: `the lock record is malformed (${malformed}), so no run holds it` };
  const expires = Date.parse(held.expires_at ?? '');
  if (Number.isFinite(expires) && expires < now.getTime())
    return { gone: true, why: `the lock expired at ${held.expires_at}` };
  const owner = held.owner ?? '';
  if (owner.startsWith('arn:aws')) {
    const status = probe.executionStatus ? await probe.executionStatus(owner) : null;
    if (status === null)
      return {
        gone: false,
        why: `could not read the status of execution ${owner} (AWS credentials for Step Functions needed)`,
      };
    return status === 'RUNNING'
      ? { gone: false, why: `execution ${owner} is still RUNNING` }
      : { gone: true, why: `execution ${owner} is ${status}` };
  }
  if (held.host && held.host === probe.host && typeof held.pid === 'number') {
    return probe.processAlive(held.pid)
      ? { gone: false, why: `process ${held.pid} on ${held.host} is still running` }
      : { gone: true, why: `process ${held.pid} on ${held.host} is gone` };
  }
  const beat = Date.parse(held.heartbeat_at ?? '');
  if (!Number.isFinite(beat)) return { gone: false, why: 'the lock has no heartbeat to judge by' };
  const silent = Math.round((now.getTime() - beat) / 1000);
  return silent > LOCAL_LEASE_SECONDS
    ? { gone: true, why: `no heartbeat for ${silent} s (lease ${LOCAL_LEASE_SECONDS} s)` }
    : { gone: false, why: `its last heartbeat was ${silent} s ago (lease ${LOCAL_LEASE_SECONDS} s)` };
}

/** A local run's heartbeat while it waits: keeps its step, refreshes heartbeat_at. False once it is not ours. */
export async function heartbeatLock(store: StateStore, lock: HeldLock, now: Date): Promise<boolean> {
  const current = await readLock(store, lock.key);
  if (!current || current.info.owner !== lock.owner) return false;
  try {
    await store.putJson(
      lock.key,
      { ...current.info, heartbeat_at: now.toISOString() },
      { ifMatch: current.etag },
    );
  } catch (err) {
    if (!(err instanceof PreconditionFailed)) throw err; // a step wrote it just now: that is a heartbeat too
  }
  return true;
}

export type UnlockOutcome =
  | { status: 'absent' }
  | { status: 'cleared'; held: Partial<LockInfo>; why: string }
  /** --dry-run: the lock would be cleared; nothing was written. */
  | { status: 'would-clear'; held: Partial<LockInfo>; why: string }
  | { status: 'refused'; held: Partial<LockInfo>; why: string };

/** `cim unlock`: clears the lock only when its holder is provably gone. */
export async function unlockEnvironment(
  store: StateStore,
  key: string,
  probe: HolderProbe,
  now: Date,
  options: { dryRun?: boolean } = {},
): Promise<UnlockOutcome> {
  const current = await readLock(store, key);
  if (!current) return { status: 'absent' };
  const verdict = await holderGone(current.info, now, probe);
  if (!verdict.gone) return { status: 'refused', held: current.info, why: verdict.why };
  if (options.dryRun) return { status: 'would-clear', held: current.info, why: verdict.why };
  try {
    await store.deleteObject(key, current.etag);
  } catch (err) {
    if (err instanceof PreconditionFailed)
      return {
        status: 'refused',
        held: current.info,
        why: 'the lock changed while it was being cleared (its holder is alive)',
      };
    throw err;
  }
  return { status: 'cleared', held: current.info, why: verdict.why };
}

export { describeHolder };
