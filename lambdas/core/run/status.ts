// Owns the fleet status view: one row per environment (up / down / partial / unknown, since
// which build, database state, replicas now against the counts recorded at the last down,
// health, a run in progress). Read-only: no lock, no write; rows are read in parallel.
import { resolveEnvironment } from '../config/catalog.ts';
import type { Deps } from '../contracts.ts';
import { errorMessage, errorName } from '../errors.ts';
import { recordKeys } from '../gateways/store.ts';
import { validateRestorePoint } from '../records/restore-point.ts';
import { prepare } from './prepare.ts';

export interface StatusRow {
  environment: string;
  state: 'up' | 'down' | 'partial' | 'unknown';
  lastChange: { action: string; build: string; result: string } | null;
  database: string | null;
  /** Per deployment: replicas now, and the count the last down recorded (null if none). */
  deployments: { name: string; now: number; recorded: number | null; exists: boolean }[];
  health: { up: number; checked: number };
  inProgress: { action: string; build: string; user: string; step: string; since: string } | null;
  error?: { name: string; message: string };
}

export async function environmentStatus(
  deps: Deps,
  customer: string,
  environment: string,
): Promise<StatusRow> {
  const key = `${customer}/${environment}`;
  try {
    const ctx = await prepare(deps, {
      input: { action: 'get_env_state', customer, environment, user: 'status', build: 'status' },
      executionId: 'status',
    });
    const env = resolveEnvironment(deps.config, customer, environment, deps.configSource);
    const prev = ctx.previous;
    let recorded: Record<string, number> | null = null;
    if (prev?.action === 'down' || (prev && prev.result !== 'succeeded')) {
      const fromBuild = prev.restorePointBuild ?? prev.build;
      const k = recordKeys(env, fromBuild).preState;
      const obj = await deps.store(env).getJson(k);
      if (obj) recorded = validateRestorePoint(obj.json, k, env, fromBuild).replicas;
    }
    const deployments = ctx.preState.deployments.map((d) => ({
      name: d.name,
      now: d.replicas,
      recorded: recorded ? (recorded[d.name] ?? null) : null,
      exists: d.exists,
    }));
    const withUrl = ctx.preState.deployments.filter((d) => d.appUrl && d.replicas > 0);
    const db = ctx.preState.database.state;
    const existing = deployments.filter((d) => d.exists);
    const allZero = existing.every((d) => d.now === 0);
    const wanted = existing.filter((d) => (d.recorded ?? d.now) > 0);
    const state: StatusRow['state'] = !ctx.preState.database.exists
      ? 'unknown'
      : allZero && (db === 'stopped' || db === 'stopping')
        ? 'down'
        : db === 'available' && wanted.length > 0 && wanted.every((d) => d.now > 0)
          ? 'up'
          : 'partial';
    const h = ctx.holder;
    return {
      environment: key,
      state,
      lastChange: prev ? { action: prev.action, build: prev.build, result: prev.result } : null,
      database: db,
      deployments,
      health: { up: withUrl.filter((d) => d.appStatus === 'up').length, checked: withUrl.length },
      inProgress: h
        ? {
            action: h.action ?? '?',
            build: h.build ?? '?',
            user: h.user ?? '?',
            step: h.step ?? '?',
            since: h.acquired_at ?? '?',
          }
        : null,
    };
  } catch (err) {
    return {
      environment: key,
      state: 'unknown',
      lastChange: null,
      database: null,
      deployments: [],
      health: { up: 0, checked: 0 },
      inProgress: null,
      error: { name: errorName(err), message: errorMessage(err) },
    };
  }
}

/** Rows for many environments, at most `concurrency` read at once, in the order given. */
export async function fleetStatus(deps: Deps, keys: string[], concurrency = 16): Promise<StatusRow[]> {
  const rows: StatusRow[] = new Array(keys.length);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      const [customer = '', environment = ''] = (keys[i] ?? '').split('/');
      rows[i] = await environmentStatus(deps, customer, environment);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  return rows;
}
