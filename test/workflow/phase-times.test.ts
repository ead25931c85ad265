// When each phase of a run started and ended (issue 18), as the action record says, on a world
// whose clock moves 10 s in each Task and by each Wait: the times follow the workflow's order.
import { afterEach, describe, expect, it } from 'vitest';
import { actionFromLegacy } from '#core/records/legacy-state';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
afterEach(() => w.restore());

const slowTasks = () => ({
  wrapTask: (_state: string, fn: (input: unknown) => Promise<unknown>) => async (input: unknown) => {
    w.clock.advance(5);
    const out = await fn(input);
    w.clock.advance(5);
    return out;
  },
});

const times = (key: string) => actionFromLegacy(w.bucket.json(key), key).phaseTimes ?? {};

describe('phase times in the action record', () => {
  it('a down: workloads, then the database until the check that saw it stopped, then the end', async () => {
    w = makeWorld({ dbStates: ['available', 'available', 'stopping', 'stopping', 'stopped'] });
    const run = await runWorkflow(w, { action: 'down', build: '10' }, slowTasks());
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const t = times(`${P}/history/10/actions.json`);
    expect(Object.keys(t)).toEqual([
      'run_started',
      'workloads_started',
      'workloads_ended',
      'database_started',
      'database_ended',
      'run_ended',
    ]);
    const order = [
      t.run_started,
      t.workloads_started,
      t.workloads_ended,
      t.database_started,
      t.database_ended,
      t.run_ended,
    ] as string[];
    expect([...order].sort()).toEqual(order);
    // Each phase took time, and the database's wait is inside its phase.
    expect((t.workloads_started as string) < (t.workloads_ended as string)).toBe(true);
    expect((t.database_started as string) < (t.database_ended as string)).toBe(true);
    expect(Date.parse(t.database_ended as string) - Date.parse(t.database_started as string)).toBeGreaterThan(
      30_000,
    );
    // The environment's actions.json is the same record; the intent said only when it started.
    expect(times(`${P}/actions.json`)).toEqual(t);
  });

  it('an up: the database first, then the workloads until they answer', async () => {
    w = makeWorld();
    expect((await runWorkflow(w, { action: 'down', build: '10' })).status).toBe('SUCCEEDED');
    w.scriptDb(['stopped', 'stopped', 'starting', 'starting', 'available']);
    const run = await runWorkflow(w, { action: 'up', build: '11' }, slowTasks());
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const t = times(`${P}/history/11/actions.json`);
    const order = [
      t.run_started,
      t.database_started,
      t.database_ended,
      t.workloads_started,
      t.workloads_ended,
      t.run_ended,
    ] as string[];
    expect(order.every((x) => typeof x === 'string')).toBe(true);
    expect([...order].sort()).toEqual(order);
  });

  it('a failed run records when it started and ended, and the phase it failed in has no end', async () => {
    w = makeWorld();
    const run = await runWorkflow(
      w,
      { action: 'down', build: '12' },
      {
        wrapTask: (state, fn) => async (input) => {
          w.clock.advance(10);
          if (state === 'Stop database')
            throw Object.assign(new Error('no'), { name: 'DatabaseActionFailed' });
          return fn(input);
        },
      },
    );
    expect(run.status).toBe('FAILED');
    const t = times(`${P}/history/12/actions.json`);
    expect(t.run_started && t.run_ended && t.workloads_ended).toBeTruthy();
    expect(t.database_started).toBeUndefined();
    expect(t.database_ended).toBeUndefined();
  });
});
