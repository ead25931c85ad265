// The fault matrix (issue "Never lose a replica count"), generated from the Task list: for
// every Task state a scenario reaches, and for every side effect it makes (S3 write or
// delete, scale, database start/stop) plus its entry, inject
//   crash     - the execution stops dead right after the side effect (the engine is aborted),
//   retryable - a transient error right after it (Step Functions retries the Task),
//   fatal     - a non-retryable error right after it (the Catch records the failure),
// then deliver the execution's status change (ABORTED after a crash, FAILED after a failure)
// to the function the rule on them calls, which must leave no lock and no "running" record of
// that execution (and change nothing when the Catch already recorded), then do what an
// operator does next (down, up) and check that the counts before the first down are back, no
// record was ever overwritten, no lock is left.
import { EKSServiceException } from '@aws-sdk/client-eks';
import { RDSServiceException, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { LocalTaskTokens } from '#cli/engine/task-tokens';
import { CimError, ErrorNames } from '#core/errors';
import { personLedgerKey } from '#core/records/wake-ledger';
import { Steps, TaskSteps } from '#core/steps';
import { handler as executionStatus } from '#handlers/execution-status';
import { runWorkflow, type WorkflowInput } from '../support/run-workflow.ts';
import { statusChange } from '../support/status-change.ts';
import { makeWorld, type World } from '../support/world.ts';

export const P = 'eks-dev-cluster/alpha/dev';
export const ORIGINAL = { 'frontend-deployment': 1, 'backend-deployment': 2 };
export type Mode = 'crash' | 'retryable' | 'fatal';
const WORKLOADS = [
  { kind: 'StatefulSet', name: 'redis' },
  { kind: 'CronJob', name: 'report' },
  { kind: 'CronJob', name: 'paused-report' },
];
export const MODES: Mode[] = ['crash', 'retryable', 'fatal'];
const NODEGROUP = { minSize: 1, desiredSize: 2, maxSize: 4 };
/** Its Ingresses (sleepingBackend): pointed by every down, given these exact specs back by the up. */
const INGRESSES = {
  web: {
    spec: {
      ingressClassName: 'nginx',
      defaultBackend: { service: { name: 'frontend', port: { number: 80 } } },
      rules: [
        {
          host: 'dev.alpha.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'frontend', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
    annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' },
  },
  api: {
    spec: {
      rules: [
        {
          host: 'api.alpha.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'backend', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
    annotations: {},
  },
};

export type FaultWorld = World & { failNextStop?: boolean };

export interface Scenario {
  name: string;
  /** Brings the world to where the faulted run starts. */
  setup(w: FaultWorld): Promise<void>;
  input: WorkflowInput;
  /** Event-driven database waits: the run gets task tokens (the database is there at once, so the wait completes itself). */
  events?: boolean;
  /** Only these Task states are faulted (the others are covered by another scenario). */
  states?: readonly string[];
  /** What must hold after the fault and the operator's down/up, beside the counts. */
  check?(w: FaultWorld): void;
}

/** A wake's up as the deployed endpoint starts it (issue 19). */
const WAKE = { minutes: 60, source: 'http', requester: { user: 'alice', address: '203.0.113.9' } };
const wakeInput = (build: string): WorkflowInput => ({ action: 'up', build, user: 'wake:alice', wake: WAKE });
const ledgerBuilds = (w: FaultWorld, key: string) =>
  ((w.bucket.json(key) as { wakes?: { build: string }[] } | undefined)?.wakes ?? []).map((e) => e.build);

/**
 * After any fault in a wake's Tasks: at most one wake.json write of each wake (a retry adopts
 * its own claim), and each wake counted at most once in each ledger (a retry counts nothing).
 */
const wakeCountedOnce = (wakes: number) => (w: FaultWorld) => {
  const claims = w.bucket.writes.filter((x) => x.op === 'put' && x.key === `${P}/wake.json`).length;
  expect(claims, 'wake.json written at most once per wake').toBeLessThanOrEqual(wakes);
  for (const key of [`${P}/wake-ledger.json`, personLedgerKey('alice')]) {
    const builds = ledgerBuilds(w, key);
    expect(builds.length, `${key}: each wake counted once`).toBe(new Set(builds).size);
  }
};

const runOptions = (s: Scenario, w: FaultWorld) => {
  if (!s.events) return {};
  w.deps.databaseEvents = true;
  return { taskTokens: new LocalTaskTokens() };
};

export const SCENARIOS: Scenario[] = [
  { name: 'down', setup: async () => undefined, input: { action: 'down', build: 'f1' } },
  {
    name: 'up',
    setup: async (w) => {
      const r = await runWorkflow(w, { action: 'down', build: 's1' });
      expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    },
    input: { action: 'up', build: 'f1' },
  },
  {
    // Reaches "Record failure": the database refuses to stop once (it has a read replica).
    name: 'down that fails',
    setup: async (w) => {
      w.failNextStop = true;
    },
    input: { action: 'down', build: 'f1' },
  },
  { name: 'dry run', setup: async () => undefined, input: { action: 'down', build: 'f1', dryRun: true } },
  {
    name: 'down with database events',
    setup: async () => undefined,
    input: { action: 'down', build: 'f1' },
    events: true,
    states: [Steps.awaitDatabaseStopped],
  },
  {
    // A wake's up: Record wake (wake.json, both ledgers) and Schedule wake down (none locally).
    name: 'wake',
    setup: async (w) => {
      const r = await runWorkflow(w, { action: 'down', build: 's1' });
      expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    },
    input: wakeInput('f1'),
    states: [Steps.recordWake, Steps.scheduleWakeDown],
    check: wakeCountedOnce(1),
  },
  {
    // A renewal: the environment still up from an expired wake gets a new one, no run.
    name: 'wake renewal',
    setup: async (w) => {
      const r = await runWorkflow(w, { action: 'down', build: 's1' });
      expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
      const up = await runWorkflow(w, wakeInput('s2'));
      expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
      w.clock.advance(61 * 60);
    },
    input: wakeInput('f1'),
    states: [Steps.scheduleRenewedWakeDown, Steps.renewWake],
    // The wake of its setup, then the renewal.
    check: wakeCountedOnce(2),
  },
  {
    name: 'up with database events',
    setup: async (w) => {
      const r = await runWorkflow(w, { action: 'down', build: 's1' });
      expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
    },
    input: { action: 'up', build: 'f1' },
    events: true,
    states: [Steps.awaitDatabaseAvailable],
  },
];

/** Which side effects each Task makes in a clean run of the scenario (its first visit). */
export async function discover(s: Scenario): Promise<Map<string, number>> {
  const w = world();
  try {
    await s.setup(w);
    const counts = new Map<string, number>();
    let current: string | null = null;
    w.faults.onMutation = () => {
      if (current) counts.set(current, (counts.get(current) ?? 0) + 1);
    };
    await runWorkflow(w, s.input, {
      ...runOptions(s, w),
      wrapTask: (state, fn) => async (e) => {
        const first = !counts.has(state);
        if (first) counts.set(state, 0);
        current = first ? state : null;
        try {
          return await fn(e);
        } finally {
          current = null;
        }
      },
    });
    return counts;
  } finally {
    w.restore();
  }
}

export interface Case {
  scenario: Scenario;
  state: string;
  /** 0: at the Task's entry; k: right after its k-th side effect. */
  after: number;
  mode: Mode;
}

export async function cases(only?: string[]): Promise<{ cases: Case[]; covered: Set<string> }> {
  const out: Case[] = [];
  const covered = new Set<string>();
  for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.name))) {
    for (const [state, n] of await discover(scenario)) {
      if (scenario.states && !scenario.states.includes(state)) continue;
      covered.add(state);
      for (let after = 0; after <= n; after++)
        for (const mode of MODES) out.push({ scenario, state, after, mode });
    }
  }
  return { cases: out, covered };
}

/** Task states no scenario reaches: a new Task must get a scenario (or this list fails a test). */
export async function uncoveredTasks(): Promise<string[]> {
  const { covered } = await cases();
  return [...TaskSteps].filter((t) => !covered.has(t));
}

function world(): FaultWorld {
  const w = makeWorld() as FaultWorld;
  // alpha/dev as a whole environment: its StatefulSet and CronJobs get faulted too.
  (w.config.environments as Record<string, unknown>)['alpha/dev'] = {
    workloads: WORKLOADS,
    keda: true,
    nodegroups: ['alpha-workers'],
    sleepingBackend: { service: 'wake', port: 8080 },
  };
  for (const [name, i] of Object.entries(INGRESSES))
    w.kube.addIngress('alpha-dev', name, i.spec, i.annotations);
  // Its node group answers UPDATING for one describe after each change.
  w.addNodegroup('eks-dev-cluster', 'alpha-workers', NODEGROUP, 1);
  w.kube.scaledObjects.set('alpha-dev/backend-scaler', {
    targetKind: 'Deployment',
    targetName: 'backend-deployment',
    pausedReplicas: null,
  });
  w.kube.scaledObjects.set('alpha-dev/redis-scaler', {
    targetKind: 'StatefulSet',
    targetName: 'redis',
    pausedReplicas: '3',
  });
  w.kube.hpas.set('alpha-dev/backend-hpa', {
    targetKind: 'Deployment',
    targetName: 'backend-deployment',
    minReplicas: 2,
    maxReplicas: 4,
  });
  w.kube
    .addStatefulSet('alpha-dev', 'redis', 2)
    .addCronJob('alpha-dev', 'report')
    .addCronJob('alpha-dev', 'paused-report', true);
  w.rds.on(StopDBInstanceCommand).callsFake(() => {
    if (w.faults.dead) throw new Error('this process was killed (simulated)');
    if (w.failNextStop) {
      w.failNextStop = false;
      throw new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        $metadata: {},
        message: 'cannot stop an instance with a read replica',
      });
    }
    w.rdsCalls.push('StopDBInstance');
    w.setDbState('stopped');
    w.faults.onMutation?.('rds:StopDBInstance');
    return {};
  });
  return w;
}

class Crash extends Error {
  constructor() {
    super('injected crash: the process died here');
    this.name = 'InjectedCrash';
  }
}

function injected(mode: Exclude<Mode, 'crash'>, what: string): Error {
  if (what.startsWith('s3:')) {
    const name = mode === 'retryable' ? 'SlowDown' : 'InvalidObjectState';
    return new S3ServiceException({
      name,
      $fault: 'server',
      $metadata: { httpStatusCode: 503 },
      message: `injected ${name}`,
    });
  }
  if (what.startsWith('rds:')) {
    const name = mode === 'retryable' ? 'ThrottlingException' : 'InvalidParameterCombination';
    return new RDSServiceException({ name, $fault: 'client', $metadata: {}, message: `injected ${name}` });
  }
  if (what.startsWith('eks:')) {
    const name = mode === 'retryable' ? 'ThrottlingException' : 'InvalidParameterException';
    return new EKSServiceException({ name, $fault: 'client', $metadata: {}, message: `injected ${name}` });
  }
  if (what.startsWith('kube:'))
    return new CimError(
      mode === 'retryable' ? ErrorNames.KubernetesError : ErrorNames.KubernetesAccessDenied,
      `injected ${mode} Kubernetes error`,
    );
  return mode === 'retryable'
    ? new CimError(ErrorNames.TransientAwsError, 'injected transient error at the step entry')
    : new Error('injected fatal error at the step entry');
}

let runs = 0;

/** Runs one case and everything an operator does after it; asserts the outcome. */
export async function runCase(c: Case): Promise<void> {
  const w = world();
  const executionId = `arn:aws:states:us-east-1:123456789012:execution:customer-infra-manager-Test:fault-${++runs}`;
  try {
    await c.scenario.setup(w);
    let abort: (() => void) | undefined;
    let visits = 0;
    let inTarget = false;
    let seen = 0;
    let fired = false;
    let inflight: Promise<unknown> | undefined;
    const fire = (what: string) => {
      if (fired) return;
      fired = true;
      if (c.mode === 'crash') {
        // The process dies: the engine stops, and nothing the dead run still has in flight
        // (a retry loop inside the step, say) may reach a peer any more.
        w.faults.dead = true;
        abort?.();
        throw new Crash();
      }
      throw injected(c.mode, what);
    };
    w.faults.onMutation = (what) => {
      if (!inTarget || fired) return;
      seen++;
      if (seen === c.after) fire(what);
    };
    const run = await runWorkflow(w, c.scenario.input, {
      ...runOptions(c.scenario, w),
      executionId,
      onStart: (a) => {
        abort = a;
      },
      wrapTask: (state, fn) => async (e) => {
        if (state !== c.state) return fn(e);
        visits++;
        inTarget = visits === 1;
        try {
          if (inTarget && c.after === 0) fire('entry');
          inflight = fn(e);
          return await inflight;
        } finally {
          inTarget = false;
        }
      },
    });
    expect(fired, 'the fault was injected').toBe(true);
    await inflight?.catch(() => undefined);
    w.faults.dead = false;
    if (run.status === 'FAILED')
      await deliverStatusChange(w, executionId, c.mode === 'crash' ? 'ABORTED' : 'FAILED', c.scenario.input);
    await recover(w);
    c.scenario.check?.(w);
  } finally {
    w.restore();
  }
}

/**
 * The rule on the execution's status change calls the execution-status function: afterwards
 * no lock and no "running" record of that execution is left; a second delivery changes
 * nothing; and nothing changes at all when the run's Catch had recorded it already.
 */
async function deliverStatusChange(
  w: FaultWorld,
  executionArn: string,
  status: 'ABORTED' | 'FAILED',
  input: WorkflowInput,
): Promise<void> {
  const latestOf = () => w.bucket.json(`${P}/actions.json`) as Record<string, unknown> | undefined;
  const lockOf = () => w.bucket.json(`${P}/lock.json`) as Record<string, unknown> | undefined;
  const before = w.bucket.writes.length;
  const ours = latestOf()?.execution_id === executionArn;
  const pending = (ours && latestOf()?.result === 'running') || lockOf()?.owner === executionArn;
  const event = statusChange(executionArn, status, { customer: 'alpha', environment: 'dev', ...input });
  const deliver = executionStatus.withDeps(w.deps);
  await deliver(event);
  expect(lockOf()?.owner, 'the dead run holds no lock').not.toBe(executionArn);
  if (ours) expect(latestOf()?.result, 'its record is no longer running').not.toBe('running');
  if (ours && pending) expect(['interrupted', 'failed', 'succeeded']).toContain(latestOf()?.result);
  if (!pending) expect(w.bucket.writes.slice(before), 'the Catch had recorded: nothing to do').toEqual([]);
  const after = w.bucket.writes.length;
  await deliver(event);
  expect(w.bucket.writes.slice(after), 'a second delivery changes nothing').toEqual([]);
}

async function recover(w: FaultWorld): Promise<void> {
  // The operator fixed whatever made the run fail (the read replica is gone).
  w.failNextStop = false;
  // 1. No lock left, not even by a dead run: the status-change function freed it (no `cim unlock`).
  expect(w.bucket.objects.has(`${P}/lock.json`), 'no lock left after the run ended').toBe(false);
  // 2. down, which may be refused if the faulted run's down completed.
  const down = await runWorkflow(w, { action: 'down', build: 'r1' });
  if (down.status !== 'SUCCEEDED') expect(down.error?.Error, down.error?.Cause).toBe('ActionRefused');
  // 3. up restores the counts from before the first down.
  const up = await runWorkflow(w, { action: 'up', build: 'r2' });
  expect(up.status, `${up.error?.Error}: ${up.error?.Cause}`).toBe('SUCCEEDED');
  for (const [name, n] of Object.entries(ORIGINAL)) expect(w.kube.replicas('alpha-dev', name), name).toBe(n);
  expect(w.kube.statefulSets.get('alpha-dev/redis')?.replicas, 'StatefulSet redis').toBe(2);
  expect(w.kube.cronJobs.get('alpha-dev/report')?.suspend, 'CronJob report resumed').toBe(false);
  expect(w.kube.cronJobs.get('alpha-dev/paused-report')?.suspend, 'paused-report stays suspended').toBe(true);
  expect(w.kube.scaledObjects.get('alpha-dev/backend-scaler')?.pausedReplicas, 'no annotation again').toBe(
    null,
  );
  expect(w.kube.scaledObjects.get('alpha-dev/redis-scaler')?.pausedReplicas, 'its own annotation').toBe('3');
  expect(w.dbState()).toBe('available');
  expect(w.nodegroups.get('eks-dev-cluster/alpha-workers')?.scaling, 'node group').toEqual(NODEGROUP);
  for (const [name, i] of Object.entries(INGRESSES)) {
    const now = w.kube.ingresses.get(`alpha-dev/${name}`);
    expect(JSON.stringify(now?.spec), `Ingress ${name}: its spec byte for byte`).toBe(JSON.stringify(i.spec));
    expect(now?.annotations, `Ingress ${name}: its annotations, ours gone`).toEqual(i.annotations);
  }
  expect(w.bucket.objects.has(`${P}/lock.json`), 'no lock left').toBe(false);
  // Every record under history/ was written exactly once: never overwritten.
  const puts = new Map<string, number>();
  for (const x of w.bucket.writes)
    if (x.op === 'put' && x.key.includes('/history/')) puts.set(x.key, (puts.get(x.key) ?? 0) + 1);
  expect([...puts].filter(([, n]) => n > 1)).toEqual([]);
  // The final up says where its counts came from, and that pre-state holds the originals.
  const latest = w.bucket.json(`${P}/actions.json`) as Record<string, any>;
  expect(latest).toMatchObject({ desired_state: 'up', jenkins_build: 'r2', result: 'succeeded' });
  const pre = w.bucket.json(`${P}/history/${latest.restored_from_build}/pre-state.json`) as Record<
    string,
    any
  >;
  for (const [name, n] of Object.entries(ORIGINAL))
    expect(pre.k8s_deployments[name].deployment_replicas, `restore point ${name}`).toBe(n);
  for (const key of [
    `${P}/history/r2/pre-state.json`,
    `${P}/history/r2/post-state.json`,
    `${P}/history/r2/actions.json`,
  ])
    expect(w.bucket.objects.has(key), key).toBe(true);
}
