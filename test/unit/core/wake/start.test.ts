// Starting a wake through the deployed workflow (the endpoint's and `cim wake --remote`'s core):
// it reads the records and starts ONE execution per change it wakes from, whoever asks and
// however many ask at once; a closed execution of that name does not block the next wake; a
// hold, a wake in effect, an environment already up or a rate limit starts nothing. The
// Step Functions API is the real client over aws-sdk-client-mock, with its name rules.
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SfnExecutions } from '#core/clients/sfn-executions';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { PreconditionFailed, type PutCondition, type StateStore } from '#core/gateways/store';
import { holdKey } from '#core/records/hold';
import { claimWake } from '#core/records/wake';
import { environmentLedgerKey, recordInLedger } from '#core/records/wake-ledger';
import type { WakeRequest } from '#core/run/wake-request';
import { MAX_WAKE_ATTEMPTS, startWake, wakeBuild, wakeExecution } from '#core/wake/start';
import { fixture, fixtureJson } from '../../../support/world.ts';

const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:cim-environment';
const P = 'eks-dev-cluster/alpha/dev';
const NOW = new Date('2026-12-06T20:00:00Z');
const config = loadConfigFile(fixture('environments.yaml'));
const env = resolveEnvironment(config, 'alpha', 'dev', 'test');

function memoryStore() {
  const objects = new Map<string, { json: unknown; etag: string }>();
  let n = 0;
  const store: StateStore = {
    bucket: 'b',
    async getJson(key) {
      const o = objects.get(key);
      return o ? { json: structuredClone(o.json), etag: o.etag } : null;
    },
    async putJson(key, value, cond: PutCondition = {}) {
      const o = objects.get(key);
      if ((cond.ifNoneMatch && o) || (cond.ifMatch && o?.etag !== cond.ifMatch))
        throw new PreconditionFailed(key);
      const etag = `"${++n}"`;
      objects.set(key, { json: structuredClone(value), etag });
      return { etag };
    },
    async deleteObject(key) {
      objects.delete(key);
    },
    async listKeys(prefix) {
      return [...objects.keys()].filter((k) => k.startsWith(prefix));
    },
  };
  return { store, objects };
}

/** Step Functions as it answers names: reserved once used; the same input while running is the same execution. */
function stepFunctions() {
  const sfn = mockClient(SFNClient);
  const executions = new Map<string, { input: string; status: string }>();
  const starts: { name: string; input: Record<string, unknown> }[] = [];
  sfn.on(StartExecutionCommand).callsFake((i) => {
    const name = i.name as string;
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    starts.push({ name, input: JSON.parse(i.input as string) });
    const executionArn = `${ARN.replace(':stateMachine:', ':execution:')}:${name}`;
    const there = executions.get(name);
    if (there) {
      if (there.status === 'RUNNING' && there.input === i.input) return { executionArn, startDate: NOW };
      throw new ExecutionAlreadyExists({
        message: `Execution Already Exists: '${executionArn}'`,
        $metadata: {},
      });
    }
    executions.set(name, { input: i.input as string, status: 'RUNNING' });
    return { executionArn, startDate: NOW };
  });
  sfn.on(DescribeExecutionCommand).callsFake((i) => {
    const name = (i.executionArn as string).split(':').pop() as string;
    const e = executions.get(name);
    if (!e) throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
    return { executionArn: i.executionArn, status: e.status };
  });
  return { sfn, executions, starts };
}

const request = (user = 'alice@example.test'): WakeRequest => ({
  minutes: 120,
  source: 'http',
  requester: { user, subject: `sub-${user}`, address: '198.51.100.7', userAgent: 'Firefox' },
});

let world: ReturnType<typeof memoryStore>;
let aws: ReturnType<typeof stepFunctions>;
beforeEach(() => {
  world = memoryStore();
  aws = stepFunctions();
  // alpha/dev as the legacy tool left it after its down of build 10.
  world.objects.set(`${P}/actions.json`, { json: fixtureJson('legacy-actions-build-10.json'), etag: '"0"' });
});
afterEach(() => aws.sfn.restore());

const deps = () => ({
  store: () => world.store,
  executions: new SfnExecutions(new SFNClient({ region: 'us-east-1' })),
  stateMachineArn: ARN,
  now: () => NOW,
});

describe('starting a wake through the deployed workflow', () => {
  it('starts the up carrying the wake, as wake:<user>, under a name made from the change it wakes from', async () => {
    const out = await startWake(deps(), env, request());
    expect(out).toMatchObject({ outcome: 'started', build: 'wake-10' });
    expect(aws.starts).toHaveLength(1);
    expect(aws.starts[0]?.name).toBe(wakeExecution(ARN, env, 'wake-10').name);
    expect(aws.starts[0]?.input).toEqual({
      action: 'up',
      customer: 'alpha',
      environment: 'dev',
      build: 'wake-10',
      user: 'wake:alice@example.test',
      wake: request(),
    });
    // It wrote nothing: the workflow records the wake.
    expect([...world.objects.keys()]).toEqual([`${P}/actions.json`]);
  });

  it('collapses 20 concurrent wakes by different people into one execution', async () => {
    const outs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => startWake(deps(), env, request(`person${i}@example.test`))),
    );
    expect(new Set(aws.starts.map((s) => s.name)).size).toBe(1);
    expect(aws.executions.size).toBe(1);
    expect(outs.filter((o) => o.outcome === 'started')).toHaveLength(1);
    expect(outs.filter((o) => o.outcome === 'joined')).toHaveLength(19);
    const arns = new Set(outs.map((o) => ('executionArn' in o ? o.executionArn : null)));
    expect(arns.size).toBe(1);
  });

  it('takes the next name when the execution of that name closed without changing the environment', async () => {
    aws.executions.set(wakeExecution(ARN, env, 'wake-10').name, { input: '{}', status: 'FAILED' });
    aws.executions.set(wakeExecution(ARN, env, 'wake-10-a1').name, { input: '{}', status: 'SUCCEEDED' });
    const out = await startWake(deps(), env, request());
    expect(out).toMatchObject({ outcome: 'started', build: 'wake-10-a2' });
    expect(aws.starts.map((s) => s.input.build)).toEqual(['wake-10', 'wake-10-a1', 'wake-10-a2']);
  });

  it('answers with a closed execution that did record its up (the records moved on meanwhile)', async () => {
    aws.executions.set(wakeExecution(ARN, env, 'wake-10').name, { input: '{}', status: 'SUCCEEDED' });
    // Between the read and the start, the wake's up was recorded.
    const d = deps();
    const store = world.store;
    let reads = 0;
    d.store = () => ({
      ...store,
      getJson: async (key, b) => {
        if (key === `${P}/actions.json` && ++reads > 1)
          return {
            json: {
              ...fixtureJson('legacy-actions-build-10.json'),
              jenkins_build: 'wake-10',
              desired_state: 'up',
            },
            etag: '"9"',
          };
        return store.getJson(key, b);
      },
    });
    const out = await startWake(d, env, request());
    expect(out).toMatchObject({ outcome: 'joined', build: 'wake-10' });
    expect(aws.starts).toHaveLength(1);
  });

  it(`gives up after ${MAX_WAKE_ATTEMPTS} closed attempts from the same change, and says where to look`, async () => {
    for (let a = 0; a < MAX_WAKE_ATTEMPTS; a++)
      aws.executions.set(wakeExecution(ARN, env, wakeBuild('10', a)).name, { input: '{}', status: 'FAILED' });
    const out = await startWake(deps(), env, request());
    expect(out.outcome).toBe('refused');
    expect(out.outcome === 'refused' && out.why).toMatch(/ended without waking it/);
    expect(aws.executions.size).toBe(MAX_WAKE_ATTEMPTS);
  });

  it('joins the running up of a wake whose record is not written yet', async () => {
    world.objects.set(`${P}/actions.json`, {
      json: {
        ...fixtureJson('legacy-actions-build-10.json'),
        jenkins_build: 'wake-10',
        desired_state: 'up',
        last_change: {
          desired_state: 'up',
          jenkins_build: 'wake-10',
          result: 'running',
          restore_point_build: '10',
        },
      },
      etag: '"1"',
    });
    aws.executions.set(wakeExecution(ARN, env, 'wake-10').name, { input: '{}', status: 'RUNNING' });
    const out = await startWake(deps(), env, request());
    expect(out).toMatchObject({ outcome: 'joined', build: 'wake-10' });
    expect(aws.starts).toHaveLength(0);
  });

  it('starts nothing when a hold keeps the environment asleep', async () => {
    world.objects.set(holdKey(env), {
      json: {
        user: 'ops',
        reason: 'migration',
        created: '2026-12-06T00:00:00Z',
        until: '2026-12-08T00:00:00Z',
        skip_next: null,
      },
      etag: '"h"',
    });
    const out = await startWake(deps(), env, request());
    expect(out.outcome).toBe('refused');
    expect(out.outcome === 'refused' && out.why).toMatch(/hold wins over a wake/);
    expect(aws.starts).toHaveLength(0);
  });

  it('starts nothing when a wake is in effect, and answers with it', async () => {
    await claimWake(
      world.store,
      env,
      {
        user: 'bob',
        created: NOW.toISOString(),
        until: new Date(NOW.getTime() + 3600_000).toISOString(),
        build: 'wake-10',
        wokeFrom: '10',
        source: 'http',
      },
      null,
    );
    const out = await startWake(deps(), env, request());
    expect(out).toMatchObject({
      outcome: 'existing',
      wake: { user: 'bob' },
      executionArn: wakeExecution(ARN, env, 'wake-10').executionArn,
    });
    expect(aws.starts).toHaveLength(0);
  });

  it('starts nothing when the environment is already up, not by a wake', async () => {
    world.objects.set(`${P}/actions.json`, {
      json: { ...fixtureJson('legacy-actions-build-10.json'), jenkins_build: '11', desired_state: 'up' },
      etag: '"2"',
    });
    const out = await startWake(deps(), env, request());
    expect(out.outcome).toBe('refused');
    expect(out.outcome === 'refused' && out.why).toMatch(/already up/);
    expect(aws.starts).toHaveLength(0);
  });

  it('starts nothing when the environment’s rate limit is reached', async () => {
    for (let i = 0; i < 4; i++)
      await recordInLedger(
        world.store,
        environmentLedgerKey(env),
        {
          at: new Date(NOW.getTime() - (i + 1) * 60_000).toISOString(),
          user: 'bob',
          environment: 'alpha/dev',
          build: `b${i}`,
        },
        NOW,
      );
    const out = await startWake(deps(), env, request());
    expect(out.outcome).toBe('refused');
    expect(out.outcome === 'refused' && out.why).toMatch(/rate limited/);
    expect(aws.starts).toHaveLength(0);
  });

  it('refuses a requester that is not printable, before reading anything', async () => {
    const out = await startWake(deps(), env, request('eve\u202e'));
    expect(out.outcome).toBe('refused');
    expect(aws.starts).toHaveLength(0);
  });

  it('makes builds of the build pattern whatever the last build, and names within 80 characters', () => {
    const long = `${'x'.repeat(64)}`;
    for (const b of [wakeBuild(long, 9), wakeBuild(null), wakeBuild('10', 3)]) {
      expect(b).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
      expect(wakeExecution(ARN, env, b).name.length).toBeLessThanOrEqual(80);
    }
    expect(wakeBuild(long)).not.toBe(wakeBuild(`${'x'.repeat(63)}y`));
  });
});
