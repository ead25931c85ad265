// Owns reading an environment's history back: the list of its builds (newest first, records
// of the legacy tool included) and the restore point of a build an operator chose
// (`up --restore-from-build N`). Read-only: nothing here writes, locks or changes.
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames, errorMessage } from '../errors.ts';
import { recordKeys, type StateStore } from '../gateways/store.ts';
import { type ActionRecord, actionFromLegacy, type RecordedRequester } from './legacy-state.ts';
import { type RestorePoint, validateRestorePoint } from './restore-point.ts';

export interface HistoryEntry {
  build: string;
  /** The action record's timestamp (UTC, legacy format), or the pre-state's when there is no action record. */
  timestamp: string | null;
  user: string | null;
  /** up, down, get_env_state, or keep_stopped (a seven-day guard re-stop, keep-stopped.json). */
  action: ActionRecord['action'] | 'keep_stopped' | null;
  /**
   * The record's result; `succeeded` for legacy records (they have none: the old tool only
   * wrote records of runs that got that far); `incomplete` when the build has a pre-state
   * but no action record; `unreadable` when its record cannot be parsed.
   */
  result: string;
  /** Written by the legacy tool (no `result` field). */
  legacy: boolean;
  restoredFromBuild?: string;
  skipped?: { deployment: string; reason: string }[];
  error?: { name: string; message: string; step?: string };
  /** The files under history/{build}/. */
  records: string[];
  /** A wake's up: who asked for it, from where (its action record's `requester`). */
  requester?: RecordedRequester;
}

const READ_CONCURRENCY = 16;

async function mapBounded<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** Numeric builds compare as numbers (legacy Jenkins ids), others as text. */
function compareBuilds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function readRecord(json: unknown, key: string, env: Environment): ActionRecord {
  const rec = actionFromLegacy(json, key);
  if (rec.customer !== env.customer || rec.environment !== env.environment) {
    throw new CimError(
      ErrorNames.StateRecordInvalid,
      `s3 object "${key}" is the record of ${rec.customer}/${rec.environment}, not of ${env.customer}/${env.environment}`,
    );
  }
  return rec;
}

/** The environment's history, newest first. Never throws on one bad record: it is listed as unreadable. */
export async function listHistory(
  store: StateStore,
  env: Environment,
  limit?: number,
): Promise<{ entries: HistoryEntry[]; total: number }> {
  const keys = recordKeys(env, '_');
  const byBuild = new Map<string, string[]>();
  for (const key of await store.listKeys(keys.historyPrefix, 100_000)) {
    const [build, ...rest] = key.slice(keys.historyPrefix.length).split('/');
    if (!build || rest.length === 0) continue;
    byBuild.set(build, [...(byBuild.get(build) ?? []), rest.join('/')]);
  }
  // A run in progress (or one that died) has no history/{build}/actions.json yet; the
  // latest actions.json says what it is.
  const latest = await store.getJson(keys.actions).catch(() => null);
  const entries = await mapBounded([...byBuild], READ_CONCURRENCY, async ([build, files]) => {
    const entry: HistoryEntry = {
      build,
      timestamp: null,
      user: null,
      action: null,
      result: 'incomplete',
      legacy: false,
      records: files.sort(),
    };
    const k = recordKeys(env, build);
    try {
      let obj = files.includes('actions.json') ? await store.getJson(k.historyActions) : null;
      let from = k.historyActions;
      if (
        !obj &&
        latest &&
        (latest.json as { jenkins_build?: unknown })?.jenkins_build?.toString() === build
      ) {
        obj = latest;
        from = keys.actions;
      }
      const guard =
        !obj && files.includes('keep-stopped.json')
          ? await store.getJson(`${k.buildPrefix}keep-stopped.json`)
          : null;
      if (guard) {
        const g = guard.json as {
          timestamp?: unknown;
          jenkins_user?: unknown;
          result?: unknown;
          error?: unknown;
        };
        entry.timestamp = typeof g.timestamp === 'string' ? g.timestamp : null;
        entry.user = typeof g.jenkins_user === 'string' ? g.jenkins_user : null;
        entry.action = 'keep_stopped';
        entry.result = typeof g.result === 'string' ? g.result : 'unknown';
        const e = g.error as { name?: unknown; message?: unknown } | undefined;
        if (e && typeof e.name === 'string' && typeof e.message === 'string')
          entry.error = { name: e.name, message: e.message };
      } else if (obj) {
        const rec = readRecord(obj.json, from, env);
        entry.timestamp = rec.timestamp;
        entry.user = rec.user;
        entry.action = rec.action;
        entry.result = rec.result ?? 'succeeded';
        entry.legacy = rec.result === undefined;
        if (rec.restoredFromBuild) entry.restoredFromBuild = rec.restoredFromBuild;
        if (rec.skipped?.length) entry.skipped = rec.skipped;
        if (rec.error) entry.error = rec.error;
        if (rec.requester) entry.requester = rec.requester;
      } else if (files.includes('pre-state.json')) {
        const pre = await store.getJson(k.preState);
        const ts = (pre?.json as { timestamp?: unknown } | null)?.timestamp;
        if (typeof ts === 'string') entry.timestamp = ts;
      }
    } catch (err) {
      entry.result = 'unreadable';
      entry.error = { name: ErrorNames.StateRecordInvalid, message: errorMessage(err) };
    }
    return entry;
  });
  entries.sort(
    (a, b) => (b.timestamp ?? '').localeCompare(a.timestamp ?? '') || compareBuilds(b.build, a.build),
  );
  return { entries: limit === undefined ? entries : entries.slice(0, limit), total: entries.length };
}

function refuse(name: typeof ErrorNames.ActionRefused | typeof ErrorNames.RestorePointMissing, msg: string) {
  return new CimError(name, `${msg} Nothing was changed.`);
}

/**
 * The restore point of a build an operator chose: the pre-state of a `down` (the counts
 * before it scaled to 0) or the state record of a recorded `get_env_state`. An `up`'s
 * pre-state is what the environment looked like while down, so it is refused; the record
 * is then checked like any restore point.
 */
export async function loadChosenRestorePoint(
  store: StateStore,
  env: Environment,
  build: string,
): Promise<RestorePoint> {
  const where = `${env.customer}/${env.environment}`;
  const k = recordKeys(env, build);
  const hint = `List the builds with: cim history --customer ${env.customer} --env ${env.environment}.`;
  const [actions, pre] = await Promise.all([store.getJson(k.historyActions), store.getJson(k.preState)]);
  if (!actions && !pre) {
    throw refuse(
      ErrorNames.ActionRefused,
      `up --restore-from-build ${build} is refused for ${where}: build ${build} has no records under s3://${store.bucket}/${k.buildPrefix}. ${hint}`,
    );
  }
  if (!actions) {
    throw refuse(
      ErrorNames.ActionRefused,
      `up --restore-from-build ${build} is refused for ${where}: build ${build} has no action record (s3://${store.bucket}/${k.historyActions}), so it cannot be told whether its pre-state is a down's. ${hint}`,
    );
  }
  const rec = readRecord(actions.json, k.historyActions, env);
  if (rec.action === 'up') {
    throw refuse(
      ErrorNames.ActionRefused,
      `up --restore-from-build ${build} is refused for ${where}: build ${build} was an up, and an up's pre-state is the environment while down, not counts to restore. Choose a down or a recorded status. ${hint}`,
    );
  }
  if (!pre) {
    throw refuse(
      ErrorNames.RestorePointMissing,
      `the restore point s3://${store.bucket}/${k.preState} (pre-state of build ${build}, a ${rec.action}) is missing; restore it from a previous object version.`,
    );
  }
  const point = validateRestorePoint(pre.json, k.preState, env, build);
  if (Object.values(point.replicas).every((n) => n === 0)) {
    throw new CimError(
      ErrorNames.StateRecordInvalid,
      `up --restore-from-build ${build} is refused for ${where}: the pre-state of build ${build} records every deployment at 0 replicas (it was taken while the environment was down), so there is nothing to restore. ${hint} Nothing was changed.`,
    );
  }
  return point;
}
