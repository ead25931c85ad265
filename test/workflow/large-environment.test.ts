// Step Functions limits every state's input and output to 262,144 bytes (States.DataLimitExceeded,
// which no Catch catches). Measured here from the engine's event log, on a fake world: the
// run context grows with the environment, the outputs of Record result / Record failure are
// compact (records stay in S3), and an environment too large for one execution is refused in
// Prepare with the limit in the message, before it takes the lock or changes anything.
import { RDSServiceException, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makePrinter, printLegacySections } from '#cli/output/printer';
import { resolveEnvironment } from '#core/config/catalog';
import type { RunContext } from '#core/contracts';
import { PAYLOAD_MARGIN, projectPayload, STATE_PAYLOAD_LIMIT } from '#core/run/payload-limit';
import { expandSummary, type RunOutput } from '#core/run/record';
import { Steps } from '#core/steps';
import { runWorkflow } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

/** alpha/dev with n deployments of 1-3 replicas (names as long as real ones: 23 characters). */
function withDeployments(n: number): string[] {
  const names = Array.from({ length: n }, (_, i) => `service-${String(i).padStart(4, '0')}-deployment`);
  (w.config.environments as Record<string, unknown>)['alpha/dev'] = {
    deployments: names.map((name) => ({ name })),
  };
  for (const [i, name] of names.entries()) w.kube.add('alpha-dev', name, 1 + (i % 3));
  return names;
}

type Run = Awaited<ReturnType<typeof runWorkflow>>;

/** The largest state input or output of the run, in UTF-8 bytes, and where. */
function largest(run: Run): { bytes: number; where: string } {
  let best = { bytes: 0, where: '' };
  for (const e of run.events as {
    type: string;
    state?: { name: string; input?: unknown; output?: unknown };
  }[]) {
    const v =
      e.type === 'StateEntered' ? e.state?.input : e.type === 'StateExited' ? e.state?.output : undefined;
    if (v === undefined) continue;
    const bytes = Buffer.byteLength(JSON.stringify(v), 'utf8');
    if (bytes > best.bytes) best = { bytes, where: `${e.type} ${e.state?.name}` };
  }
  return best;
}

const exited = (run: Run, state: string) =>
  [...(run.events as { type: string; state?: { name: string; output?: any } }[])]
    .reverse()
    .find((e) => e.type === 'StateExited' && e.state?.name === state)?.state?.output;

const projected = (run: Run) =>
  projectPayload(exited(run, Steps.prepare) as RunContext, resolveEnvironment(w.config, 'alpha', 'dev'));

describe('one environment with 1,000 deployments', () => {
  it('is refused in Prepare with the 262,144-byte limit in the message: no lock, no record, nothing scaled', async () => {
    withDeployments(1000);
    const run = await runWorkflow(w, { action: 'down', build: 'big-1' });
    expect(run.status).toBe('FAILED');
    expect(run.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(run.error?.Error).toBe('PreflightFailed');
    if (process.env.CIM_PRINT_SIZES) console.log(run.error?.Cause);
    expect(run.error?.Cause).toMatch(/limit of 262144 bytes for a state's input or output/);
    expect(run.error?.Cause).toMatch(/with 1000 deployments and workloads.*at most about \d+ deployments/);
    expect(w.bucket.writes).toEqual([]);
    expect(w.kube.replicas('alpha-dev', 'service-0001-deployment')).toBe(2);
  });
});

describe('the largest environments that fit', () => {
  it('the size the refusal names goes down and comes back up (a down accepted is never an up refused)', async () => {
    withDeployments(1000);
    const refused = await runWorkflow(w, { action: 'down', build: 'big-1' });
    const fits = Number(/at most about (\d+) deployments/.exec(refused.error?.Cause ?? '')?.[1]);
    expect(fits).toBeGreaterThan(500);
    w.restore();
    w = makeWorld();
    withDeployments(fits);
    for (const action of ['down', 'up'] as const) {
      const run = await runWorkflow(w, { action, build: `max-${action}` });
      expect(run.status, `${action} of ${fits}: ${JSON.stringify(run.error)}`).toBe('SUCCEEDED');
      expect(largest(run).bytes).toBeLessThan(STATE_PAYLOAD_LIMIT);
    }
  }, 60_000);

  it('run down and up end to end with every state input and output under the limit and under the projection', async () => {
    withDeployments(600);
    for (const action of ['down', 'up'] as const) {
      const run = await runWorkflow(w, { action, build: `fit-${action}` });
      expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
      const top = largest(run);
      const p = projected(run);
      if (process.env.CIM_PRINT_SIZES) console.log(action, top, p);
      expect(top.bytes, top.where).toBeLessThan(STATE_PAYLOAD_LIMIT);
      // The projection Prepare refuses by is an upper bound of what the run really reached.
      expect(top.bytes, `${action}: ${top.where}`).toBeLessThanOrEqual(p.projected - PAYLOAD_MARGIN);
      // Record result's output is a summary: counts and record keys, not the records.
      const out = exited(run, Steps.recordResult) as RunOutput;
      if (process.env.CIM_PRINT_SIZES)
        console.log(action, 'Record result output', Buffer.byteLength(JSON.stringify(out)));
      expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThan(4_096);
      expect(out).toMatchObject({
        result: 'succeeded',
        counts: { changes: 600, skipped: 0 },
        stateRecords: {
          preState: `${P}/history/fit-${action}/pre-state.json`,
          postState: `${P}/history/fit-${action}/post-state.json`,
        },
      });
      expect(out).not.toHaveProperty('preState');
      expect(out).not.toHaveProperty('postState');
      expect(out).not.toHaveProperty('changes');
      // The pods' requests (issue 18) would not fit in the context: left out of the pre-state
      // (unknown to the report) rather than refusing the run; the post-state has them.
      const pre = w.bucket.json(`${P}/history/fit-${action}/pre-state.json`) as any;
      expect(pre.k8s_deployments['service-0001-deployment'].pod_requests).toBeUndefined();
      const post = w.bucket.json(`${P}/history/fit-${action}/post-state.json`) as any;
      expect(post.k8s_deployments['service-0001-deployment'].pod_requests).toBeDefined();
    }
    expect(w.kube.replicas('alpha-dev', 'service-0001-deployment')).toBe(2);
  }, 60_000);

  it('a failing run: Record failure adds a compact summary to the context, under the limit', async () => {
    withDeployments(600);
    w.rds.on(StopDBInstanceCommand).rejects(
      new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        $metadata: {},
        message: 'the instance is a read replica',
      }),
    );
    const run = await runWorkflow(w, { action: 'down', build: 'fail-1' });
    expect(run.path.slice(-2)).toEqual([Steps.recordFailure, Steps.runFailed]);
    const top = largest(run);
    expect(top.bytes, top.where).toBeLessThanOrEqual(projected(run).projected);
    const summary = (exited(run, Steps.recordFailure) as { summary: RunOutput }).summary;
    expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThan(4_096);
    expect(summary).toMatchObject({
      result: 'failed',
      recorded: true,
      counts: { changes: 600 },
      stateRecords: {
        preState: `${P}/history/fail-1/pre-state.json`,
        postState: `${P}/history/fail-1/post-state.json`,
      },
      error: { name: 'DatabaseActionFailed', step: Steps.stopDatabase },
    });
  }, 60_000);
});

describe('the CLI reads the records the compact output names', () => {
  it('prints pre-state, restore point and post-state as stored in S3', async () => {
    expect((await runWorkflow(w, { action: 'down', build: '10' })).status).toBe('SUCCEEDED');
    const up = await runWorkflow(w, { action: 'up', build: '11' });
    const out = up.output as RunOutput;
    expect(out.restorePoint).toEqual({ build: '10', key: `${P}/history/10/pre-state.json` });
    const full = await expandSummary(w.deps.store(resolveEnvironment(w.config, 'alpha', 'dev')), out);
    expect(full.preState).toEqual(w.bucket.json(`${P}/history/11/pre-state.json`));
    expect(full.postState).toEqual(w.bucket.json(`${P}/history/11/post-state.json`));
    expect(full.restorePoint?.record).toEqual(w.bucket.json(`${P}/history/10/pre-state.json`));
    let text = '';
    printLegacySections(
      makePrinter(false, (s) => {
        text += s;
      }),
      full,
    );
    const sections = [...text.matchAll(/\[=== (.+) ===\]/g)].map((m) => m[1]);
    expect(sections).toEqual([
      'get_environment_state: Current',
      'get_previous_state_s3: pre-state.json',
      'update_environment_state',
      'get_environment_state: Current',
      'record_state_s3: pre-state.json',
      'record_state_s3: post-state.json',
      'record_actions_s3: actions.json',
      'record_actions_s3: actions.json',
    ]);
  });
});
