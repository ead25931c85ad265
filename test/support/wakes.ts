// Alice's wake of alpha/dev, as `cim wake` places it: the wake record claimed (build w1, woken
// from the legacy down of build 10), and for a woken environment its up run on the local engine
// with the real handlers.
import { resolveEnvironment } from '#core/config/catalog';
import { claimWake, type Wake } from '#core/records/wake';
import { runWorkflow } from './run-workflow.ts';
import { seedLegacyDown, type World } from './world.ts';

/** Claims alice's wake w1 of alpha/dev for `minutes` from now; throws if another is there. */
export async function claimAliceWake(
  w: World,
  o: { minutes: number; source?: Wake['source'] },
): Promise<Wake> {
  const env = resolveEnvironment(w.deps.config, 'alpha', 'dev', 'test');
  const now = w.clock.now();
  const wake: Wake = {
    user: 'alice',
    created: now.toISOString(),
    until: new Date(now.getTime() + o.minutes * 60_000).toISOString(),
    build: 'w1',
    wokeFrom: '10',
    source: o.source ?? 'cli',
  };
  if (!(await claimWake(w.deps.store(env), env, wake, null)))
    throw new Error('test setup: alpha/dev already has a wake');
  return wake;
}

/** alpha/dev woken by alice for two hours from the legacy down of build 10: claimed, its up run. */
export async function wokenByAlice(w: World): Promise<Wake> {
  seedLegacyDown(w);
  const wake = await claimAliceWake(w, { minutes: 120 });
  const up = await runWorkflow(w, { action: 'up', build: 'w1', user: 'wake:alice' });
  if (up.status !== 'SUCCEEDED')
    throw new Error(`test setup: the wake's up failed: ${JSON.stringify(up.error)}`);
  return wake;
}
