// P2 (`npm run bench -- waits`): what the waits of one `up` and one `down` cost on the
// deployed form, simulated on the local engine with a virtual clock: state transitions,
// Lambda invocations and time past ready, over a range of actual database and deployment
// durations, polling only next to the event-driven database wait (the RDS event is delivered
// by the bench when the database gets there; a database slower than the wait's fallback
// time is polled after it, as a missed event would be).
import {
  DescribeDBInstancesCommand,
  StartDBInstanceCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { runLocal } from '#cli/engine/local-environment';
import { LocalTaskTokens } from '#cli/engine/task-tokens';
import { resolveEnvironment } from '#core/config/catalog';
import { databaseWait } from '#core/database/events';
import type { DeploymentStatus, KubeGateway } from '#core/gateways/kubernetes';
import { TaskFunctions, WaitSteps } from '#core/steps';
import { handler as databaseEvent } from '#handlers/database-event';
import { synthesizedDefinition } from '../test/support/synthesized.ts';
import { makeWorld, seedLegacyDown, type World } from '../test/support/world.ts';

type Table = (title: string, head: string[], rows: (string | number)[][]) => void;

/** Deployments that reach their new count `takes` seconds after the scale call. */
class TimedKube implements KubeGateway {
  private readonly d = new Map<string, { from: number; to: number; doneAt: number }>();
  constructor(
    private readonly now: () => number,
    private readonly takes: number,
    initial: number,
  ) {
    for (const n of ['frontend-deployment', 'backend-deployment'])
      this.d.set(`alpha-dev/${n}`, { from: initial, to: initial, doneAt: 0 });
  }
  async readDeployment(ns: string, name: string): Promise<DeploymentStatus> {
    const d = this.d.get(`${ns}/${name}`);
    if (!d) throw new Error('unknown');
    const done = this.now() >= d.doneAt;
    const pods = done ? d.to : Math.max(d.from, d.to);
    const avail = done ? d.to : d.to === 0 ? d.from : 0;
    return {
      exists: true,
      replicas: d.to,
      currentReplicas: pods,
      readyReplicas: avail,
      availableReplicas: avail,
      updatedReplicas: d.to,
      observed: true,
      availableCondition: { status: avail ? 'True' : 'False', reason: null },
    };
  }
  async scaleDeployment(ns: string, name: string, replicas: number) {
    const d = this.d.get(`${ns}/${name}`);
    this.d.set(`${ns}/${name}`, {
      from: d?.to ?? 0,
      to: replicas,
      doneAt: this.now() + this.takes * 1000,
    });
  }
  async checkScale() {}
}

export interface WaitRun {
  transitions: number;
  invocations: number;
  polls: number;
  runSeconds: number;
  pastReadySeconds: number;
}

/** One up or down whose database takes `dbSeconds` and deployments `appSeconds`. */
export async function simulate(
  action: 'up' | 'down',
  events: boolean,
  dbSeconds: number,
  appSeconds: number,
  /** Sees every RDS request: which Task (or the event function) sent it, and when (virtual seconds). */
  observe?: (call: { command: string; state: string; atSeconds: number }) => void,
  /** A world that outlives this run (bench/wake.ts: one environment's history of runs). */
  shared?: { world: World; build: string },
): Promise<WaitRun> {
  const definition = synthesizedDefinition();
  const w = shared?.world ?? makeWorld();
  if (action === 'up' && !shared) {
    seedLegacyDown(w);
  }
  const nowMs = () => w.clock.now().getTime();
  const goal = action === 'up' ? 'available' : 'stopped';
  let db = { from: action === 'up' ? 'stopped' : 'available', changedAt: null as number | null };
  const readyAt = () => (db.changedAt === null ? null : db.changedAt + dbSeconds * 1000);
  const change = () => {
    db = { ...db, changedAt: nowMs() };
    return {};
  };
  let state = 'RDS event';
  const t0 = nowMs();
  const seen = (command: string) => observe?.({ command, state, atSeconds: (nowMs() - t0) / 1000 });
  w.rds.on(StartDBInstanceCommand).callsFake(() => {
    seen('StartDBInstance');
    return change();
  });
  w.rds.on(StopDBInstanceCommand).callsFake(() => {
    seen('StopDBInstance');
    return change();
  });
  w.rds.on(DescribeDBInstancesCommand).callsFake(() => {
    seen('DescribeDBInstances');
    const at = readyAt();
    const state = at === null ? db.from : nowMs() >= at ? goal : action === 'up' ? 'starting' : 'stopping';
    return { DBInstances: [{ DBInstanceIdentifier: 'alpha-dev-rds', DBInstanceStatus: state }] };
  });
  const kube = new TimedKube(nowMs, appSeconds, action === 'up' ? 0 : 2);
  const env = resolveEnvironment(w.config, 'alpha', 'dev');
  const fallback = databaseWait({ ...w.deps, databaseEvents: true }, env, goal, true).fallbackSeconds;
  const tokens = new LocalTaskTokens((_state, token, t) => {
    const at = readyAt();
    if (at === null) return;
    const left = (at - nowMs()) / 1000;
    if (left > fallback) {
      w.clock.advance(fallback);
      t.timeOut(token);
      return;
    }
    w.clock.advance(Math.max(0, left));
    state = 'RDS event';
    void databaseEvent
      .withDeps({ ...w.deps, taskTokens: t })({
        source: 'aws.rds',
        'detail-type': 'RDS DB Instance Event',
        region: env.region,
        // The handler ignores an event without its account, or from before the wait began.
        account: '123456789012',
        time: new Date(nowMs()).toISOString(),
        detail: {
          SourceType: 'DB_INSTANCE',
          SourceIdentifier: 'alpha-dev-rds',
          EventID: action === 'up' ? 'RDS-EVENT-0088' : 'RDS-EVENT-0087',
        },
      })
      .catch(() => t.timeOut(token));
  });
  const deps = { ...w.deps, kube: () => kube, databaseEvents: events };
  const run = await runLocal({
    deps,
    definition,
    input: { action, customer: 'alpha', environment: 'dev', build: shared?.build ?? '20', user: 'bench' },
    waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
    ...(events ? { taskTokens: tokens } : {}),
    wrapTask: (s, fn) => async (event) => {
      const poll = (event as { poll?: { stable: boolean; waitSeconds: number } }).poll;
      if (poll && !poll.stable) w.clock.advance(poll.waitSeconds);
      state = s;
      return fn(event);
    },
  });
  if (!shared) w.restore();
  if (run.status !== 'SUCCEEDED') throw new Error(JSON.stringify(run.error));
  const taskNames = new Set<string>(Object.values(TaskFunctions).flat());
  const entered = run.events.filter((e) => e.type === 'StateEntered') as { state: { name: string } }[];
  const runSeconds = Math.round((nowMs() - t0) / 1000);
  return {
    transitions: entered.length,
    invocations: entered.filter((e) => taskNames.has(e.state.name)).length,
    polls: entered.filter((e) => e.state.name.startsWith('Check ')).length,
    runSeconds,
    pastReadySeconds: runSeconds - dbSeconds - appSeconds,
  };
}

export const DB_RANGE = [120, 300, 480, 900, 1800];
export const APP_RANGE = [5, 30, 120, 300];

export async function waitsBench(table: Table, results: Record<string, unknown>): Promise<void> {
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown>[] = [];
  const cases: [number, number][] = [
    ...DB_RANGE.map((d) => [d, 120] as [number, number]),
    ...APP_RANGE.filter((a) => a !== 120).map((a) => [480, a] as [number, number]),
  ];
  for (const action of ['up', 'down'] as const) {
    for (const [dbSeconds, appSeconds] of cases) {
      const polling = await simulate(action, false, dbSeconds, appSeconds);
      const events = await simulate(action, true, dbSeconds, appSeconds);
      rows.push([
        action,
        dbSeconds,
        appSeconds,
        `${polling.transitions} / ${events.transitions}`,
        `${polling.invocations} / ${events.invocations}`,
        `${polling.pastReadySeconds} / ${events.pastReadySeconds}`,
      ]);
      data.push({ action, dbSeconds, appSeconds, polling, events });
    }
  }
  table(
    'P2. Waits of one up/down on the deployed form (virtual clock, local engine; configured usual durations: database start 480 s, stop 300 s, deployments 120 s); polling / event-driven database wait',
    ['action', 'database s', 'deployments s', 'transitions', 'Lambda invocations', 'past ready s'],
    rows,
  );
  results.waits = data;
}
