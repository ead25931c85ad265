// Owns reading an environment's action records back: the record of a key (checked to be this
// environment's) and the last up/down, which decides what a run may do. Prepare, the records
// of a run, status, the guard and the execution-ended handler read them the same way.
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames } from '../errors.ts';
import { recordKeys, type StateStore, type StoredJson } from '../gateways/store.ts';
import { type ActionRecord, actionFromLegacy, type LastChange, lastChangeOf } from './legacy-state.ts';

function foreign(key: string, why: string): CimError {
  return new CimError(
    ErrorNames.StateRecordInvalid,
    `s3 object "${key}" ${why}; it cannot be this environment's record. Inspect it (the bucket is versioned); nothing was changed.`,
  );
}

/** Parses an action record read back from S3 and checks it belongs to this environment. */
export function readActionRecord(json: unknown, key: string, env: Environment): ActionRecord {
  const rec = actionFromLegacy(json, key);
  if (rec.customer !== env.customer || rec.environment !== env.environment) {
    throw foreign(key, `is the record of ${rec.customer}/${rec.environment}`);
  }
  return rec;
}

/** The latest up/down of the environment, read from its actions.json (null without one). */
export async function readLastChange(store: StateStore, env: Environment): Promise<LastChange | null> {
  // actions.json's key does not depend on the build.
  return findLastChange(store, env, await store.getJson(recordKeys(env, '_').actions));
}

/**
 * The latest up/down of the environment. Records written by this tool carry it in
 * `last_change`; legacy records do not, so a legacy get_env_state on top falls back to
 * scanning the history for the newest up/down.
 */
export async function findLastChange(
  store: StateStore,
  env: Environment,
  latest: StoredJson | null,
): Promise<LastChange | null> {
  if (!latest) return null;
  const keys = recordKeys(env, '_');
  const rec = readActionRecord(latest.json, keys.actions, env);
  const direct = lastChangeOf(rec);
  if (direct || rec.lastChange !== undefined) return direct;
  const all = (await store.listKeys(keys.historyPrefix, 5000)).filter((k) => k.endsWith('/actions.json'));
  let best: ActionRecord | null = null;
  for (const key of all) {
    const obj = await store.getJson(key);
    if (!obj) continue;
    const r = readActionRecord(obj.json, key, env);
    if (r.action !== 'get_env_state' && (!best || r.timestamp > best.timestamp)) best = r;
  }
  return best ? lastChangeOf(best) : null;
}

/** The execution that wrote an action record as stored (its `execution_id`), nothing else checked. */
export const writtenByExecution = (json: unknown): unknown =>
  (json as { execution_id?: unknown } | null)?.execution_id;
