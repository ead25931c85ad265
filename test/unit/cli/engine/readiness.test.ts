import { describe, expect, it } from 'vitest';
import { localWait, type WatchSource } from '#cli/engine/readiness';
import type { RunContext } from '#core/contracts';
import { Steps } from '#core/steps';

const ctx = {
  changes: [{ deployment: 'frontend-deployment', namespace: 'alpha-dev', from: 0, to: 1 }],
} as unknown as RunContext;

/** A watch source the test drives: `change()` is an event, `disconnect()` ends the watch. */
function fakeSource(opts: { failToStart?: boolean } = {}) {
  const watched: string[] = [];
  const listeners: { onChange: () => void; onGone: (e?: unknown) => void }[] = [];
  let aborted = 0;
  const source: WatchSource = async (path, onChange, onGone) => {
    if (opts.failToStart) throw new Error('connection refused');
    watched.push(path);
    listeners.push({ onChange, onGone });
    return { abort: () => void aborted++ };
  };
  return {
    source,
    watched,
    aborted: () => aborted,
    change: () => {
      for (const l of listeners) l.onChange();
    },
    disconnect: () => {
      for (const l of listeners) l.onGone(new Error('connection reset'));
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('local waits that end when the resource is ready', () => {
  it('ends at the watch event that shows the deployments ready, and closes the watch', async () => {
    const f = fakeSource();
    let ready = false;
    let rechecks = 0;
    // No polling fallback within the test's time: only the watch can end this wait.
    const wait = localWait({ source: f.source, pollMs: 60_000 });
    const done = wait(
      Steps.checkDeploymentsAvailable,
      ctx,
      async () => {
        rechecks++;
        return ready;
      },
      20_000,
    );
    await tick();
    expect(f.watched).toEqual(['/apis/apps/v1/namespaces/alpha-dev/deployments']);
    f.change();
    await tick();
    ready = true;
    f.change();
    expect(await done).toBe('ready');
    expect(rechecks).toBeGreaterThanOrEqual(2);
    expect(f.aborted()).toBe(1);
  });

  it('falls back to re-checking when the watch disconnects', async () => {
    const f = fakeSource();
    let ready = false;
    const wait = localWait({ source: f.source, pollMs: 10 });
    const done = wait(Steps.checkDeploymentsStopped, ctx, async () => ready, 20_000);
    await tick();
    f.disconnect();
    await tick();
    ready = true; // no event will say so: only the fallback polling can see it
    expect(await done).toBe('ready');
  });

  it('falls back to re-checking when the watch cannot start', async () => {
    const f = fakeSource({ failToStart: true });
    let calls = 0;
    const wait = localWait({ source: f.source, pollMs: 10 });
    const outcome = await wait(Steps.checkDeploymentsAvailable, ctx, async () => ++calls >= 3, 20_000);
    expect(outcome).toBe('ready');
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('ends at the scheduled time when the resource does not get ready', async () => {
    const f = fakeSource();
    const wait = localWait({ source: f.source, pollMs: 10 });
    expect(await wait(Steps.checkDeploymentsAvailable, ctx, async () => false, 50)).toBe('elapsed');
  });

  it('ends at an interrupt', async () => {
    const f = fakeSource();
    const ac = new AbortController();
    const wait = localWait({ source: f.source, pollMs: 60_000 });
    const done = wait(Steps.checkDeploymentsAvailable, ctx, async () => false, 20_000, ac.signal);
    ac.abort();
    expect(await done).toBe('aborted');
  });

  it('keeps the scheduled wait for the database (RDS is not re-checked every second)', async () => {
    let rechecks = 0;
    const wait = localWait({ source: fakeSource().source, pollMs: 5 });
    const outcome = await wait(
      Steps.checkDatabaseAvailable,
      ctx,
      async () => {
        rechecks++;
        return true;
      },
      60,
    );
    expect(outcome).toBe('elapsed');
    expect(rechecks).toBe(0);
  });
});
