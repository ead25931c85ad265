// Step Functions refuses any state input or output above 262,144 bytes
// (States.DataLimitExceeded, which no Catch catches). The fleet's states must stay constant in
// size whatever the fleet's size: this runs the real fleet definition on the local engine for
// 200 and 2,000 environments with long names, some skipped and some failed with long causes,
// and measures every input and output in the event logs of the fleet execution and of every
// child execution of its Distributed Map. The environment workflow itself is replaced by a
// three-way stub (its own sizes do not depend on the fleet's); the fleet's Tasks, the map run's
// reader and writer and the summary are the real ones.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noRetryWaits } from '#cli/engine/local-environment';
import { runFleetLocal } from '#cli/engine/local-fleet';
import { runGuardLocal } from '#cli/engine/local-guard';
import { parseConfig } from '#core/config/catalog';
import { FleetSteps, GuardSteps } from '#core/steps';
import { makeWorld, type World } from '../support/world.ts';

const STATE_LIMIT = 262_144;
const LONG_CAUSE = `Prepare: ${'the database refused to stop because it is a read replica of another instance; '.repeat(8)}`;

/** A child that succeeds, is skipped (already down) or fails, by its customer's suffix. */
const stubEnvironment = {
  StartAt: 'Outcome',
  States: {
    Outcome: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.customer', StringMatches: '*-skip', Next: 'Already down' },
        { Variable: '$.customer', StringMatches: '*-fail', Next: 'Database failed' },
      ],
      Default: 'Done',
    },
    'Already down': { Type: 'Fail', Error: 'ActionRefused', Cause: `Prepare: already down. ${LONG_CAUSE}` },
    'Database failed': { Type: 'Fail', Error: 'DatabaseActionFailed', Cause: LONG_CAUSE },
    Done: { Type: 'Succeed' },
  },
};

let w: World;
beforeEach(() => {
  w = makeWorld();
});
afterEach(() => w.restore());

function fleetOf(n: number): string[] {
  // 24-character customers and 22-character environments: the longest key parts the
  // configuration accepts, so the names are as long as they can be.
  return Array.from({ length: n }, (_, i) => {
    const kind = i % 50 === 7 ? 'skip' : i % 50 === 13 ? 'fail' : 'runs';
    return `cust-${String(i).padStart(5, '0')}-platform-${kind}/preproduction-eu-west1`;
  });
}

function configure(keys: string[]) {
  w.deps.config = parseConfig(
    {
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'web' }],
      },
      environments: Object.fromEntries(keys.map((k) => [k, {}])),
    },
    'sizes.yaml',
  );
}

function sizeMeter() {
  const largest = { bytes: 0, where: '' };
  const onEvent = (e: unknown) => {
    const ev = e as {
      type: string;
      input?: unknown;
      output?: unknown;
      state?: { name: string; input?: unknown; output?: unknown };
    };
    for (const [what, v] of [
      ['input', ev.state?.input ?? ev.input],
      ['output', ev.state?.output ?? ev.output],
    ] as const) {
      if (v === undefined) continue;
      const bytes = Buffer.byteLength(JSON.stringify(v));
      if (bytes > largest.bytes)
        Object.assign(largest, { bytes, where: `${ev.type} ${ev.state?.name ?? ''} ${what}` });
    }
  };
  return { largest, onEvent };
}

async function measure(n: number) {
  const keys = fleetOf(n);
  configure(keys);
  const { largest, onEvent } = sizeMeter();
  const run = await runFleetLocal({
    deps: w.deps,
    input: { action: 'down', selection: '*/*', build: `sizes-${n}`, user: 'jenkins', maxConcurrency: 100 },
    environmentDefinition: stubEnvironment,
    retryOverrides: noRetryWaits(),
    onEvent,
  });
  return { run, largest, keys };
}

describe('fleet state sizes', () => {
  it.each([200, 2000])(
    'keeps every state input and output of a %i-environment fleet far under 262,144 bytes',
    async (n) => {
      const { run, largest, keys } = await measure(n);
      const skipped = keys.filter((k) => k.includes('-skip/')).length;
      const failed = keys.filter((k) => k.includes('-fail/')).length;
      expect(run.status).toBe('FAILED');
      expect(run.error?.Error).toBe('FleetHadFailures');
      expect(run.path).toEqual([
        FleetSteps.select,
        FleetSteps.runEach,
        FleetSteps.record,
        FleetSteps.anyFailed,
        FleetSteps.failed,
      ]);
      expect(run.summary?.counts).toEqual({ succeeded: n - skipped - failed, skipped, refused: 0, failed });
      expect(run.summary?.environments).toHaveLength(n);
      const record = w.bucket.json(`fleet/history/sizes-${n}/summary.json`) as { environments: unknown[] };
      expect(record.environments).toHaveLength(n);
      // Constant in the fleet's size: the largest state is a child's item and its result
      // (a few KB), or the summary with at most 25 not-succeeded environments.
      expect(largest.bytes, largest.where).toBeLessThan(STATE_LIMIT / 8);
      console.info(`fleet of ${n}: largest state payload ${largest.bytes} bytes (${largest.where})`);
    },
    240_000,
  );
});

describe('guard sweep state sizes', () => {
  it('keeps every state input and output of a 2,000-environment daily sweep far under 262,144 bytes', async () => {
    const keys = fleetOf(2000);
    configure(keys);
    const { largest, onEvent } = sizeMeter();
    const run = await runGuardLocal({ deps: w.deps, input: { sweep: true }, onEvent });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.path).toEqual([GuardSteps.select, GuardSteps.each, GuardSteps.summary]);
    // Nothing is parked: every environment is looked at and left alone.
    expect(run.summary?.guarded).toBe(2000);
    expect(run.summary?.environments).toHaveLength(2000);
    expect(run.summary?.environments.every((e) => e.phase === 'noop')).toBe(true);
    expect(largest.bytes, largest.where).toBeLessThan(STATE_LIMIT / 8);
    console.info(`guard sweep of 2000: largest state payload ${largest.bytes} bytes (${largest.where})`);
  }, 240_000);
});
