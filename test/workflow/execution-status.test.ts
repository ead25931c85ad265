// A run that ends without its Catch (stopped from the console, timed out, failed where no
// Catch catches): the execution-status function, called by the rule on the status change,
// records it as interrupted and releases its lock, and only if they are that execution's.
import { RDSServiceException, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Steps } from '#core/steps';
import { handler } from '#handlers/execution-status';
import { runWorkflow } from '../support/run-workflow.ts';
import { statusChange } from '../support/status-change.ts';
import { makeWorld, type World } from '../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
const EXEC = 'arn:aws:states:us-east-1:123456789012:execution:customer-infra-manager-Test';
const A = `${EXEC}:run-a`;
const B = `${EXEC}:run-b`;
const INPUT = { action: 'down', customer: 'alpha', environment: 'dev', user: 'jenkins-user', build: '700' };

let w: World;
let deliver: (e: unknown) => Promise<any>;
beforeEach(() => {
  w = makeWorld();
  deliver = handler.withDeps(w.deps) as never;
});
afterEach(() => w.restore());

/** Every object and its etag: what "changes nothing" is checked against. */
const etags = () => Object.fromEntries([...w.bucket.objects].map(([k, o]) => [k, o.etag]));

/** A down whose execution is stopped (the engine stops dead) right after `state` ends. */
async function downStoppedAfter(state: string, executionId: string, build = '700') {
  let abort: (() => void) | undefined;
  const run = await runWorkflow(
    w,
    { action: 'down', build },
    {
      executionId,
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
  expect(run.status).toBe('FAILED');
  return run;
}

describe('an execution stopped from the console mid-down', () => {
  it('is recorded as interrupted in actions.json and its history, with the step, and its lock is released', async () => {
    await downStoppedAfter(Steps.scaleDown, A);
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ result: 'running', execution_id: A });
    expect(w.bucket.json(`${P}/lock.json`)).toMatchObject({ owner: A });

    const out = await deliver(statusChange(A, 'ABORTED', INPUT));
    expect(out).toMatchObject({ record: 'recorded', result: 'interrupted', lock: 'released' });
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
    const latest = w.bucket.json(`${P}/actions.json`);
    expect(latest).toMatchObject({
      jenkins_build: '700',
      execution_id: A,
      result: 'interrupted',
      // The step the dead run entered last, from its lock.
      error: { name: 'ExecutionAborted', step: Steps.scaleDown },
      // The unfinished down keeps its own pre-state as the restore point.
      last_change: {
        desired_state: 'down',
        jenkins_build: '700',
        result: 'failed',
        restore_point_build: '700',
      },
    });
    expect(String((latest?.error as { message?: string } | undefined)?.message)).toMatch(
      /ended ABORTED without running its Catch/,
    );
    expect(w.bucket.json(`${P}/history/700/actions.json`)).toEqual(latest);

    // What an operator does next just works: up restores the counts from before the down.
    const up = await runWorkflow(w, { action: 'up', build: '701' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(w.kube.replicas('alpha-dev', 'frontend-deployment')).toBe(1);
    expect(w.kube.replicas('alpha-dev', 'backend-deployment')).toBe(2);
  });

  it('changes nothing when the same event is delivered a second time (every object and etag kept)', async () => {
    await downStoppedAfter(Steps.scaleDown, A);
    await deliver(statusChange(A, 'ABORTED', INPUT));
    const before = etags();
    const writes = w.bucket.writes.length;
    const again = await deliver(statusChange(A, 'ABORTED', INPUT));
    expect(again).toMatchObject({ record: 'already-ended', result: 'interrupted', lock: 'absent' });
    expect(etags()).toEqual(before);
    expect(w.bucket.writes.length).toBe(writes);
  });

  it('a timed-out run whose lock is already gone (cleared or expired) is still recorded, and leaves no lock', async () => {
    await downStoppedAfter(Steps.scaleDown, A);
    w.bucket.objects.delete(`${P}/lock.json`);
    const from = w.bucket.writes.length;
    const out = await deliver(statusChange(A, 'TIMED_OUT', INPUT));
    expect(out).toMatchObject({ record: 'recorded', result: 'interrupted', lock: 'absent' });
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({
      result: 'interrupted',
      error: { name: 'ExecutionTimedOut' },
    });
    // The lock was held for the dead run while recording (no new run could read the record in between), then freed.
    expect(
      w.bucket.writes
        .slice(from)
        .filter((x) => x.key === `${P}/lock.json`)
        .map((x) => x.op),
    ).toEqual(['put', 'delete']);
    expect(w.bucket.objects.has(`${P}/lock.json`)).toBe(false);
  });
});

describe('an event for an execution that does not own the records', () => {
  it('never touches the lock or the record of the run that holds them', async () => {
    await downStoppedAfter(Steps.scaleDown, B, '702');
    const before = etags();
    const out = await deliver(statusChange(A, 'ABORTED', INPUT));
    expect(out).toMatchObject({ record: 'not-this-execution', lock: 'not-ours' });
    expect(etags()).toEqual(before);
    expect(w.bucket.json(`${P}/lock.json`)).toMatchObject({ owner: B });
  });

  it('leaves its own running record to the run that took over its lock', async () => {
    await downStoppedAfter(Steps.scaleDown, A);
    // B took over the expired lock and has not written its intent yet.
    const lock = w.bucket.json(`${P}/lock.json`) as Record<string, unknown>;
    w.bucket.put(`${P}/lock.json`, { ...lock, owner: B, execution_id: B, build: '702' });
    const before = etags();
    const out = await deliver(statusChange(A, 'ABORTED', INPUT));
    expect(out).toMatchObject({ record: 'locked-by-another-run', lock: 'not-ours' });
    expect(etags()).toEqual(before);
  });
});

describe('a run whose Catch already recorded it', () => {
  it('changes nothing on its FAILED status change', async () => {
    w.rds.on(StopDBInstanceCommand).rejects(
      new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        $metadata: {},
        message: 'the instance is a read replica',
      }),
    );
    const run = await runWorkflow(w, { action: 'down', build: '700' }, { executionId: A });
    expect(run.path.slice(-2)).toEqual([Steps.recordFailure, Steps.runFailed]);
    const before = etags();
    const out = await deliver(statusChange(A, 'FAILED', INPUT, 'DatabaseActionFailed'));
    expect(out).toMatchObject({ record: 'already-ended', result: 'failed', lock: 'absent' });
    expect(etags()).toEqual(before);
  });
});

describe('untrusted events', () => {
  it('refuse what is not an ended execution of Step Functions, and change nothing', async () => {
    await downStoppedAfter(Steps.scaleDown, A);
    const before = etags();
    const good = statusChange(A, 'ABORTED', INPUT);
    await expect(deliver({ ...good, source: 'custom.forged' })).rejects.toThrow(/source must be aws.states/);
    await expect(deliver({ ...good, detail: { ...good.detail, status: 'SUCCEEDED' } })).rejects.toThrow(
      /detail.status must be one of ABORTED, TIMED_OUT, FAILED/,
    );
    await expect(deliver({ ...good, detail: { ...good.detail, executionArn: 'run-a' } })).rejects.toThrow(
      /executionArn must be a Step Functions execution ARN/,
    );
    await expect(
      deliver({ ...good, detail: { ...good.detail, inputDetails: { included: false } } }),
    ).rejects.toThrow(/does not include the execution input/);
    expect(etags()).toEqual(before);
  });

  it('ignore an execution whose input names no configured environment (Prepare refused it)', async () => {
    await downStoppedAfter(Steps.scaleDown, A);
    const before = etags();
    for (const input of [
      'not json',
      null,
      { customer: '../alpha', environment: 'dev' },
      { customer: 'alpha' },
      { customer: 'nobody', environment: 'dev' },
    ]) {
      const e = statusChange(A, 'ABORTED', input);
      if (input === 'not json') e.detail.input = '{not json';
      expect(await deliver(e)).toMatchObject({ record: 'ignored', lock: 'absent' });
    }
    expect(etags()).toEqual(before);
  });
});
