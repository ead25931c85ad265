// A fleet of 200 environments through the Distributed Map path on moto: Select claims the
// build and writes the item list to S3, the map run reads it (ItemReader) and exports its
// results to S3 (ResultWriter: manifest, result files), and the summary reads them back. Every
// count and every object is checked on moto. Each child is a stub execution (succeeds, is
// skipped or fails by its customer's name): 200 real namespaces, databases and environment
// runs are what the 20-environment test (fleet-real-peers) does at a size the sandbox's API
// server carries; here the subject is the fleet's own path and its S3 objects.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { noRetryWaits } from '#cli/engine/local-environment';
import { runFleetLocal } from '#cli/engine/local-fleet';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { parseConfig } from '#core/config/catalog';
import { FleetSteps, WaitSteps } from '#core/steps';
import { makeDeps } from '#core/wiring';
import { json, keys, s3, sandbox } from './peers.ts';

const N = 200;
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
    'Already down': { Type: 'Fail', Error: 'ActionRefused', Cause: 'Prepare: already down' },
    'Database failed': { Type: 'Fail', Error: 'DatabaseActionFailed', Cause: 'Stop database: read replica' },
    Done: { Type: 'Succeed' },
  },
};

const keysOf = () =>
  Array.from({ length: N }, (_, i) => {
    const kind = i % 40 === 3 ? 'skip' : i % 40 === 17 ? 'fail' : 'runs';
    // 24 characters, the longest customer part a key may have.
    return `dmap-${String(i).padStart(4, '0')}-long-cust-${kind}/preproduction-eu-west1`;
  });

function deps() {
  const config = parseConfig(
    {
      defaults: {
        cluster: sandbox.cluster,
        region: 'us-east-1',
        bucket: sandbox.bucket,
        deployments: [{ name: 'web' }],
      },
      environments: Object.fromEntries(keysOf().map((k) => [k, {}])),
    },
    'dmap-200.yaml',
  );
  return makeDeps({
    config,
    configSource: 'dmap-200.yaml',
    // The stub children never reach Kubernetes; the fleet's own steps need only S3.
    kube: kubeconfigKube(config, sandbox.orchestratorKubeconfig),
    log: { info: () => undefined, warn: () => undefined },
  });
}

describe('a fleet of 200 environments through ItemReader and ResultWriter on moto', () => {
  it('reads its items from S3, writes every result to S3 as AWS does, and records every count', async () => {
    const build = `dmap-${Date.now()}`;
    const d = deps();
    const run = await runFleetLocal({
      deps: d,
      input: { action: 'down', selection: 'dmap-*/*', build, user: 'jenkins', maxConcurrency: 40 },
      environmentDefinition: stubEnvironment,
      retryOverrides: noRetryWaits(),
      // The children are stubs: no start pace (200 starts would take 100 s of real waits).
      waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
    });
    const skipped = keysOf().filter((k) => k.includes('-skip/')).length;
    const failed = keysOf().filter((k) => k.includes('-fail/')).length;
    expect(skipped).toBe(5);
    expect(failed).toBe(5);
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('FleetHadFailures');
    expect(run.path).toEqual([
      FleetSteps.select,
      FleetSteps.runEach,
      FleetSteps.record,
      FleetSteps.anyFailed,
      FleetSteps.failed,
    ]);
    expect(run.maxInFlight).toBeLessThanOrEqual(40);
    const counts = { succeeded: N - skipped - failed, skipped, refused: 0, failed };
    expect(run.summary?.counts).toEqual(counts);

    // The claim and the item list, on moto.
    expect(await json(`fleet/${build}/claim.json`)).toMatchObject({ build });
    const items = (await json(`fleet/${build}/items.json`)) as { executionName: string; customer: string }[];
    expect(items).toHaveLength(N);
    expect(new Set(items.map((i) => i.executionName)).size).toBe(N);
    for (const i of items) expect(i.executionName).toMatch(/^[A-Za-z0-9_-]{1,80}$/);

    // The map run's results, as ResultWriter exports them.
    const written = await keys(`fleet/${build}/results/`);
    const manifestKey = written.find((k) => k.endsWith('/manifest.json')) as string;
    expect(manifestKey).toMatch(new RegExp(`^fleet/${build}/results/[0-9a-f-]{36}/manifest\\.json$`));
    const manifest = await json(manifestKey);
    expect(manifest.DestinationBucket).toBe(sandbox.bucket);
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    expect(manifest.ResultFiles.PENDING).toEqual([]);
    expect(manifest.ResultFiles.SUCCEEDED).toHaveLength(1);
    const file = manifest.ResultFiles.SUCCEEDED[0];
    const head = await s3.send(new HeadObjectCommand({ Bucket: sandbox.bucket, Key: file.Key }));
    expect(head.ContentLength).toBe(file.Size);
    const entries = (await json(file.Key)) as { Status: string; Input: string; Output: string }[];
    expect(entries).toHaveLength(N);
    // A failed or skipped child is a result of its item (the Catch), not a failed item.
    const outputs = entries.map((e) => JSON.parse(e.Output) as { error?: { Error: string } });
    expect(outputs.filter((o) => o.error).length).toBe(skipped + failed);
    expect(written.sort()).toEqual([file.Key, manifestKey].sort());

    // The summary record holds every environment; the state output only the first 25 not succeeded.
    const record = await json(`fleet/history/${build}/summary.json`);
    expect(record.counts).toEqual(counts);
    expect(record.environments).toHaveLength(N);
    expect(run.summary?.environments).toHaveLength(N);

    // The same build again: refused at Select (the claim, a conditional write on moto), nothing started.
    const again = await runFleetLocal({
      deps: d,
      input: { action: 'down', selection: 'dmap-*/*', build, user: 'jenkins' },
      environmentDefinition: stubEnvironment,
      retryOverrides: noRetryWaits(),
    });
    expect(again.status).toBe('FAILED');
    expect(again.path).toEqual([FleetSteps.select, FleetSteps.refused]);
    expect(again.error?.Error).toBe('BuildAlreadyRecorded');
    expect(await keys(`fleet/${build}/results/`)).toHaveLength(2);
  }, 600_000);
});
