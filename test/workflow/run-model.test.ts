// The run model, one readable story per transition (the fault matrix covers every point):
// intent before the first change, unfinished runs keep the first restore point, retried
// Tasks adopt their own records, interrupts stop at a safe point, the lock fences changes.
import { S3ServiceException } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '#cli/exit-codes';
import { caughtState, Steps } from '#core/steps';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

// Imported once the variable is set: the module runs `cim` on import otherwise (static imports
// are hoisted above this line), and that process would exit with the test runner's argv.
let outcomeExitCode: typeof import('#cli/main').outcomeExitCode;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ outcomeExitCode } = await import('#cli/main'));
});

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

const counts = () => ({
  frontend: w.kube.replicas('alpha-dev', 'frontend-deployment'),
  backend: w.kube.replicas('alpha-dev', 'backend-deployment'),
});
const ORIGINAL = { frontend: 1, backend: 2 };

/** Runs a down that dies (the engine stops, the process is gone) right after `state` ends. */
async function downKilledAfter(state: string, build: string) {
  let abort: (() => void) | undefined;
  const run = await runWorkflow(
    w,
    { action: 'down', build },
    {
      onStart: (a) => {
        abort = a;
      },
      wrapTask: (s, fn) => async (e) => {
        const out = await fn(e);
        if (s === state) {
          w.faults.dead = true;
          abort?.();
        }
        return out;
      },
    },
  );
  w.faults.dead = false;
  return run;
}

describe('a down that dies half-way', () => {
  it('leaves an intent record that keeps the restore point, so no later run restores zeros', async () => {
    const killed = await downKilledAfter(Steps.scaleDown, '500');
    expect(killed.status).toBe('FAILED');
    expect(counts()).toEqual({ frontend: 0, backend: 0 });
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({
      desired_state: 'down',
      jenkins_build: '500',
      result: 'running',
      last_change: {
        desired_state: 'down',
        jenkins_build: '500',
        result: 'running',
        restore_point_build: '500',
      },
    });
    // The operator clears the dead run's lock, then runs down again: it records zeros as its
    // pre-state, but keeps build 500 as the restore point.
    w.bucket.objects.delete(`${P}/lock.json`);
    const again = await runWorkflow(w, { action: 'down', build: '501' });
    expect(again.status, JSON.stringify(again.error)).toBe('SUCCEEDED');
    expect(
      (w.bucket.json(`${P}/history/501/pre-state.json`) as any).k8s_deployments['backend-deployment']
        .deployment_replicas,
    ).toBe(0);
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({
      last_change: {
        desired_state: 'down',
        jenkins_build: '501',
        result: 'succeeded',
        restore_point_build: '500',
      },
    });
    const up = await runWorkflow(w, { action: 'up', build: '502' });
    expect(up.status).toBe('SUCCEEDED');
    expect(counts()).toEqual(ORIGINAL);
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ restored_from_build: '500' });
  });

  it('lets up run straight after the dead down (its last change is not a finished down)', async () => {
    await downKilledAfter(Steps.stopDatabase, '600');
    w.bucket.objects.delete(`${P}/lock.json`);
    const up = await runWorkflow(w, { action: 'up', build: '601' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(counts()).toEqual(ORIGINAL);
  });
});

describe('a Task retried after its side effects', () => {
  it('one SlowDown on history/actions.json: the retry adopts its own records and the run succeeds', async () => {
    let failed = false;
    w.faults.onMutation = (what) => {
      if (!failed && what === `s3:put:${P}/history/10/actions.json`) {
        failed = true;
        throw new S3ServiceException({
          name: 'SlowDown',
          $fault: 'server',
          $metadata: {},
          message: 'slow down',
        });
      }
    };
    const run = await runWorkflow(w, { action: 'down', build: '10' });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(
      run.events.filter((e) => e.type === 'StateRetried' && e.state.name === Steps.recordResult),
    ).toHaveLength(1);
    expect(w.bucket.writes.filter((x) => x.key === `${P}/history/10/post-state.json`)).toHaveLength(1);
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ result: 'succeeded' });
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
  });
});

describe('interrupted (SIGINT/SIGTERM of a local run)', () => {
  it('during a Wait: stops there, records the run as interrupted with its restore point, releases the lock', async () => {
    w.scriptDb(['available', 'available', 'stopping']);
    const interrupt = new AbortController();
    const run = await runWorkflow(
      w,
      { action: 'down', build: '10' },
      {
        interrupt: interrupt.signal,
        // A wait long enough to be in it when the signal comes; the interrupt cuts it short.
        waitMs: { [Steps.waitDatabaseStop]: 60_000 },
        wrapTask: (s, fn) => async (e) => {
          const out = await fn(e);
          if (s === Steps.checkDatabaseStopped) setImmediate(() => interrupt.abort());
          return out;
        },
      },
    );
    expect(run.error?.Error).toBe('Interrupted');
    expect(run.path.at(-1)).toBe(Steps.waitDatabaseStop);
    expect(run.output).toMatchObject({ result: 'interrupted', recorded: true, lock: 'released' });
    expect(w.bucket.json(`${P}/history/10/actions.json`)).toMatchObject({
      result: 'interrupted',
      error: { name: 'Interrupted' },
      last_change: { desired_state: 'down', result: 'failed', restore_point_build: '10' },
    });
    expect(outcomeExitCode(run.error?.Error, run.output as never)).toBe(ExitCode.Interrupted);
  });

  it('during a Task: the Task finishes, the next one is not started', async () => {
    const interrupt = new AbortController();
    const run = await runWorkflow(
      w,
      { action: 'down', build: '10' },
      {
        interrupt: interrupt.signal,
        wrapTask: (s, fn) => async (e) => {
          if (s === Steps.scaleDown) interrupt.abort();
          return fn(e);
        },
      },
    );
    expect(run.error?.Error).toBe('Interrupted');
    expect(run.path).toContain(caughtState(Steps.checkDeploymentsStopped));
    expect(run.path).not.toContain(Steps.stopDatabase);
    expect(counts()).toEqual({ frontend: 0, backend: 0 });
    expect(w.rdsCalls).toEqual([]);
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
    const again = await runWorkflow(w, { action: 'down', build: '11' });
    expect(again.status).toBe('SUCCEEDED');
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ last_change: { restore_point_build: '10' } });
  });
});

describe('the lock fences every change', () => {
  it('a run whose lock was taken over stops before its next change and leaves actions.json to the holder', async () => {
    const run = await runWorkflow(
      w,
      { action: 'down', build: '10' },
      {
        wrapTask: (s, fn) => async (e) => {
          const out = await fn(e);
          if (s === Steps.scaleDown) {
            const lock = w.bucket.json(`${P}/lock.json`) as Record<string, unknown>;
            w.bucket.put(`${P}/lock.json`, { ...lock, owner: 'someone-else', execution_id: 'someone-else' });
          }
          return out;
        },
      },
    );
    expect(run.error?.Error).toBe('LockLost');
    expect(w.rdsCalls).toEqual([]);
    expect(w.bucket.json(`${P}/history/10/actions.json`)).toMatchObject({
      result: 'failed',
      error: { name: 'LockLost' },
    });
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ result: 'running' });
    expect(w.bucket.json(`${P}/lock.json`)).toMatchObject({ owner: 'someone-else' });
  });
});

describe('a failure that cannot be recorded', () => {
  it('says so (exit 3), and the intent record still lets the next runs restore the counts', async () => {
    let s3Down = false;
    w.bucket.hooks.beforeCall = () => {
      if (s3Down)
        throw new S3ServiceException({
          name: 'ServiceUnavailable',
          $fault: 'server',
          $metadata: {},
          message: 'down',
        });
    };
    const run = await runWorkflow(
      w,
      { action: 'down', build: '10' },
      {
        wrapTask: (s, fn) => async (e) => {
          if (s === Steps.stopDatabase) {
            s3Down = true;
            throw new Error('boom');
          }
          return fn(e);
        },
      },
    );
    expect(run.output).toMatchObject({ result: 'failed', recorded: false });
    expect(outcomeExitCode(run.error?.Error, run.output as never)).toBe(ExitCode.FailedNotRecorded);
    // A local run whose "Record failure" never finished (timed out, died) has no summary: not recorded either.
    expect(outcomeExitCode('States.Timeout', null)).toBe(ExitCode.FailedNotRecorded);
    expect(outcomeExitCode('States.Timeout', null, false)).toBe(ExitCode.Failed);
    s3Down = false;
    w.bucket.objects.delete(`${P}/lock.json`);
    expect((await runWorkflow(w, { action: 'down', build: '11' })).status).toBe('SUCCEEDED');
    expect((await runWorkflow(w, { action: 'up', build: '12' })).status).toBe('SUCCEEDED');
    expect(counts()).toEqual(ORIGINAL);
  });
});

describe('a hung peer', () => {
  it('ends the step with States.Timeout, and the failure record names the step', async () => {
    const { environmentDefinition } = await import('../support/definition.ts');
    const { runLocal, noRetryWaits } = await import('#cli/engine/local-environment');
    const { StopDBInstanceCommand } = await import('@aws-sdk/client-rds');
    const { WaitSteps } = await import('#core/steps');
    const definition = structuredClone(environmentDefinition()) as {
      States: Record<string, { TimeoutSeconds?: number }>;
    };
    expect(definition.States[Steps.stopDatabase]?.TimeoutSeconds).toBe(90);
    (definition.States[Steps.stopDatabase] as { TimeoutSeconds: number }).TimeoutSeconds = 1;
    w.rds.on(StopDBInstanceCommand).callsFake(() => new Promise(() => undefined)); // never answers
    const run = await runLocal({
      deps: w.deps,
      definition,
      input: { action: 'down', customer: 'alpha', environment: 'dev', build: '10', user: 'u' },
      waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
      retryOverrides: noRetryWaits(),
    });
    expect(run.error?.Error).toBe('States.Timeout');
    expect(run.path).toContain(caughtState(Steps.stopDatabase));
    expect(w.bucket.json(`${P}/history/10/actions.json`)).toMatchObject({
      result: 'failed',
      error: { name: 'States.Timeout', step: Steps.stopDatabase },
    });
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
  });
});
