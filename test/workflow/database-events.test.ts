// The event-driven database wait on the local engine: the waiting Task stores its token, the
// test delivers the RDS event to the real event function, which completes the Task; with no
// event the Task times out and the run polls as before.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTaskTokens } from '#cli/engine/task-tokens';
import { TASK_TOKEN_MAX_LENGTH } from '#core/database/events';
import { Steps } from '#core/steps';
import { handler as databaseEvent } from '#handlers/database-event';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
const WAIT_RECORD = `${P}/database-wait.json`;

const rdsEvent = (eventId: string, identifier = 'alpha-dev-rds', extra: Record<string, unknown> = {}) => ({
  version: '0',
  source: 'aws.rds',
  'detail-type': 'RDS DB Instance Event',
  region: 'us-east-1',
  account: '123456789012',
  // The world's clock starts at 20:00: an event after the wait began.
  time: '2026-11-26T23:00:00Z',
  detail: { SourceType: 'DB_INSTANCE', SourceIdentifier: identifier, EventID: eventId, Message: 'x' },
  ...extra,
});

describe('event-driven database waits', () => {
  let w: World;
  const deliveries: unknown[] = [];
  const deliver = (tokens: LocalTaskTokens, event: unknown) =>
    databaseEvent
      .withDeps({ ...w.deps, taskTokens: tokens })(event)
      .then((r) => {
        deliveries.push(r);
        return r as { completed: string[]; ignored: string[] };
      });

  beforeEach(async () => {
    w = makeWorld();
    deliveries.length = 0;
    const down = await runWorkflow(w, { action: 'down', build: '10' });
    expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
    w.deps.databaseEvents = true;
    // The database stays 'stopped' after the start call until the test says otherwise.
    w.scriptDb(['stopped']);
  });
  afterEach(() => w.restore());

  it('completes the wait on the RDS started event, ignoring events for other databases or goals', async () => {
    let ignoredFirst: { completed: string[]; ignored: string[] }[] = [];
    const tokens = new LocalTaskTokens((_state, token, t) => {
      void (async () => {
        expect(w.bucket.objects.has(WAIT_RECORD)).toBe(true);
        ignoredFirst = [
          await deliver(t, rdsEvent('RDS-EVENT-0088', 'beta-staging-rds')),
          await deliver(t, rdsEvent('RDS-EVENT-0087')),
          await deliver(t, { source: 'aws.rds', detail: { EventID: 'RDS-EVENT-0088' } }),
          await deliver(t, rdsEvent('RDS-EVENT-0088', 'alpha-dev-rds', { source: 'evil.source' })),
        ];
        w.setDbState('available');
        // Not completed: end the wait so that the assertions below fail at once.
        if (!(await deliver(t, rdsEvent('RDS-EVENT-0088'))).completed.length) t.timeOut(token);
      })().catch((err) => {
        deliveries.push(err);
        t.timeOut(token);
      });
    });
    const run = await runWorkflow(w, { action: 'up', build: '11' }, { taskTokens: tokens });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(ignoredFirst.every((r) => r.completed.length === 0)).toBe(true);
    expect(deliveries.at(-1)).toMatchObject({ completed: ['alpha/dev'] });
    const i = run.path.indexOf(Steps.startDatabase);
    expect(run.path.slice(i, i + 5)).toEqual([
      Steps.startDatabase,
      Steps.databaseStartEvents,
      Steps.awaitDatabaseAvailable,
      Steps.checkDatabaseAvailable,
      Steps.databaseAvailable,
    ]);
    expect(run.path).not.toContain(Steps.waitDatabaseStart);
    expect(w.bucket.objects.has(WAIT_RECORD)).toBe(false);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it('completes a wait whose task token has the 2,048 characters Step Functions may give it', async () => {
    const seen: string[] = [];
    const tokens = new LocalTaskTokens((_state, token, t) => {
      seen.push(token);
      w.setDbState('available');
      void deliver(t, rdsEvent('RDS-EVENT-0088'));
    }, TASK_TOKEN_MAX_LENGTH);
    const run = await runWorkflow(w, { action: 'up', build: '11' }, { taskTokens: tokens });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(seen.map((t) => t.length)).toEqual([TASK_TOKEN_MAX_LENGTH]);
    expect(deliveries.at(-1)).toMatchObject({ completed: ['alpha/dev'] });
    expect(run.path).not.toContain(Steps.waitDatabaseStart);
  });

  it('ignores an event whose wait record cannot be read, without failing (S3 answers 403 for a missing key without ListBucket)', async () => {
    const tokens = new LocalTaskTokens(() => undefined);
    const denied = {
      ...w.deps,
      taskTokens: tokens,
      store: (env: Parameters<typeof w.deps.store>[0]) =>
        Object.assign(Object.create(w.deps.store(env)), {
          getJson: async () => {
            throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
          },
        }),
    };
    const r = (await databaseEvent.withDeps(denied)(rdsEvent('RDS-EVENT-0088'))) as {
      completed: string[];
      ignored: string[];
    };
    expect(r.completed).toEqual([]);
    expect(r.ignored).toEqual(['alpha/dev: no run is waiting (its wait record is absent or not readable)']);
  });

  it('polls instead of awaiting an event while the database moves the other way (stopping during an up)', async () => {
    // Prepare and Start database see it stopping: no start can be issued yet, and the event
    // that will come (stopped) does not end an up's wait.
    w.scriptDb(['stopping', 'stopping', 'stopping', 'stopped', 'stopped', 'available']);
    const tokens = new LocalTaskTokens((_state, token, t) => t.timeOut(token));
    const run = await runWorkflow(w, { action: 'up', build: '11' }, { taskTokens: tokens });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.path).toContain(Steps.databaseStartEvents);
    expect(run.path).not.toContain(Steps.awaitDatabaseAvailable);
    expect(run.path).toContain(Steps.waitDatabaseStart);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it('falls back to polling when no event comes before the timeout', async () => {
    const tokens = new LocalTaskTokens((_state, token, t) => {
      w.scriptDb(['starting', 'available']);
      t.timeOut(token);
    });
    const run = await runWorkflow(w, { action: 'up', build: '11' }, { taskTokens: tokens });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const i = run.path.indexOf(Steps.awaitDatabaseAvailable);
    expect(run.path.slice(i, i + 6)).toEqual([
      Steps.awaitDatabaseAvailable,
      Steps.checkDatabaseAvailable,
      Steps.databaseAvailable,
      Steps.waitDatabaseStart,
      Steps.checkDatabaseAvailable,
      Steps.databaseAvailable,
    ]);
    expect(w.kube.replicas('alpha-dev', 'frontend-deployment')).toBe(1);
    // An event after the timeout finds no waiting run.
    expect((await deliver(tokens, rdsEvent('RDS-EVENT-0088'))).completed).toEqual([]);
  });

  it('keeps the database deadline from the start call when the event wait falls back to polling', async () => {
    // Usual start 480 s, timeout 3600 s: the event wait gives up after 960 s, then polling may
    // use what is left of the 3600 s, not 3600 s more.
    const tokens = new LocalTaskTokens((_state, token, t) => {
      w.scriptDb(['starting']);
      w.clock.advance(960);
      t.timeOut(token);
    });
    const t0 = w.clock.now().getTime();
    const run = await runWorkflow(w, { action: 'up', build: '11' }, { taskTokens: tokens });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('WaitTimedOut');
    const total = (w.clock.now().getTime() - t0) / 1000;
    expect(total).toBeGreaterThanOrEqual(3600);
    expect(total).toBeLessThanOrEqual(3600 + 300); // the last wait is at most 300 s
    expect(run.error?.Cause).toMatch(/after (\d+) s/);
  });

  it('completes at once when the database is already there when the token is stored (event came first)', async () => {
    const tokens = new LocalTaskTokens();
    const run = await runWorkflow(
      w,
      { action: 'up', build: '11' },
      {
        taskTokens: tokens,
        wrapTask: (state, fn) => async (e) => {
          if (state === Steps.awaitDatabaseAvailable) w.setDbState('available');
          return fn(e);
        },
      },
    );
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.path).toContain(Steps.awaitDatabaseAvailable);
    expect(run.path).not.toContain(Steps.waitDatabaseStart);
  });

  it('completes a down on the RDS stopped event', async () => {
    const up = await runWorkflow(
      w,
      { action: 'up', build: '11' },
      {
        taskTokens: new LocalTaskTokens((_s, _tk, t) => {
          w.setDbState('available');
          void deliver(t, rdsEvent('RDS-EVENT-0088'));
        }),
      },
    );
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    w.scriptDb(['available']);
    const tokens = new LocalTaskTokens((_state, _token, t) => {
      w.setDbState('stopped');
      void deliver(t, rdsEvent('RDS-EVENT-0087'));
    });
    const run = await runWorkflow(w, { action: 'down', build: '12' }, { taskTokens: tokens });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const i = run.path.indexOf(Steps.awaitDatabaseStopped);
    expect(run.path.slice(i - 1, i + 2)).toEqual([
      Steps.databaseStopEvents,
      Steps.awaitDatabaseStopped,
      Steps.checkDatabaseStopped,
    ]);
    expect(run.path).not.toContain(Steps.waitDatabaseStop);
  });

  it('goes straight to polling when no event is expected (the local engine, target accounts)', async () => {
    w.deps.databaseEvents = false;
    w.setDbState('stopped');
    const run = await runWorkflow(w, { action: 'up', build: '11' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const i = run.path.indexOf(Steps.databaseStartEvents);
    expect(run.path[i + 1]).toBe(Steps.checkDatabaseAvailable);
    expect(run.path).not.toContain(Steps.awaitDatabaseAvailable);
  });
});
