// `cim guard --dry-run`: what the seven-day guard would do to each environment, from the same
// reads its "Keep database stopped" step makes before it acts (guard.ts parkedDatabase) and a
// look at the lock; it writes nothing, takes no lock and asks RDS only to describe.
import { resolveEnvironment } from '../config/catalog.ts';
import type { Deps } from '../contracts.ts';
import { label } from '../database/rules.ts';
import { recordKeys } from '../gateways/store.ts';
import { readLock } from '../records/lock.ts';
import { parkedDatabase } from './guard.ts';

export interface GuardPreview {
  environment: string;
  /** `stop`: the guard would stop the database (after waiting while it starts). */
  would: 'stop' | 'skip';
  /** up, on-hold, missing, stopped, locked: why it would leave it alone. */
  skip?: 'up' | 'on-hold' | 'missing' | 'stopped' | 'locked';
  why: string;
}

/** One environment ("customer/environment") as the guard would find it now. */
export async function guardPreview(deps: Deps, key: string): Promise<GuardPreview> {
  const [customer = '', environment = ''] = key.split('/');
  const env = resolveEnvironment(deps.config, customer, environment, deps.configSource);
  const now = deps.now();
  const parked = await parkedDatabase(deps, env, now);
  if ('why' in parked) return { environment: key, would: 'skip', skip: parked.skip, why: parked.why };
  const lock = await readLock(deps.store(env), recordKeys(env, '-').lock);
  const expires = Date.parse(String(lock?.info.expires_at ?? ''));
  // A lock past its expiry would be taken over; a malformed one (no expiry) never is.
  if (lock && !(Number.isFinite(expires) && expires < now.getTime())) {
    const i = lock.info;
    return {
      environment: key,
      would: 'skip',
      skip: 'locked',
      why: `locked by ${i.action ?? 'a run'} build ${i.build ?? '?'}${i.user ? ` by ${i.user}` : ''}; left to it`,
    };
  }
  const state = parked.first.state;
  return {
    environment: key,
    would: 'stop',
    why: `asleep since build ${parked.last.build}, ${label(env.database)} is ${state}${
      state === 'available' ? '' : ' (the guard waits until it can be stopped)'
    }`,
  };
}
