// The local Distributed Map adapter against the memory bucket: items from S3, one child
// execution per item, results written as ResultWriter does, the tolerated-failure threshold.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  forLocalDistributedMaps,
  LOCAL_MAP_TIMEOUT_SECONDS,
  localDistributedMapHandlers,
} from '#cli/engine/distributed-map';
import { machineFor } from '#cli/engine/local-environment';
import { makeWorld, type World } from '../../../support/world.ts';

const BUCKET = 'customer-infra-manager';
const definition = (tolerated: number, extra: Record<string, unknown> = {}) => ({
  StartAt: 'Each',
  States: {
    Each: {
      Type: 'Map',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Ok?',
        States: {
          'Ok?': {
            Type: 'Choice',
            Choices: [{ Variable: '$.ok', BooleanEquals: false, Next: 'Boom' }],
            Default: 'Fine',
          },
          Boom: { Type: 'Fail', Error: 'Boom', Cause: 'the item said no' },
          Fine: { Type: 'Pass', Result: 'fine', ResultPath: '$.said', End: true },
        },
      },
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.key' },
      },
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        Parameters: { 'Bucket.$': '$.bucket', Prefix: 'out' },
      },
      MaxConcurrency: 1,
      ToleratedFailurePercentage: tolerated,
      ResultPath: '$.results',
      End: true,
      ...extra,
    },
  },
});

let w: World;
beforeEach(() => {
  w = makeWorld();
  w.bucket.put('in/items.json', [{ ok: true }, { ok: false }, { ok: true }, { ok: true }]);
});
afterEach(() => w.restore());

async function run(def: Record<string, unknown>) {
  const local = forLocalDistributedMaps(def);
  const handlers = localDistributedMapHandlers(local, {
    deps: w.deps,
    handlers: {},
    executionId: 'local:test',
  });
  const execution = machineFor(local.definition).run({ bucket: BUCKET, key: 'in/items.json' } as never, {
    overrides: { taskResourceLocalHandlers: handlers as any },
  });
  return execution.result.then(
    (output) => ({ output: output as any, error: null }),
    (error: Error) => ({ output: null, error }),
  );
}

const manifest = () => {
  const key = w.bucket.keys().find((k) => /^out\/[0-9a-f-]{36}\/manifest\.json$/.test(k));
  return w.bucket.json(key as string) as any;
};

describe('the local Distributed Map', () => {
  it('runs every item as its own execution and writes SUCCEEDED and FAILED files as ResultWriter does', async () => {
    const { output, error } = await run(definition(50));
    expect(error).toBeNull();
    expect(output.results.MapRunArn).toMatch(/:mapRun:test\/Each:[0-9a-f-]{36}$/);
    expect(output.results.ResultWriterDetails).toEqual({
      Bucket: BUCKET,
      Key: expect.stringMatching(/^out\/[0-9a-f-]{36}\/manifest\.json$/),
    });
    const m = manifest();
    expect(m.ResultFiles.PENDING).toEqual([]);
    const ok = w.bucket.json(m.ResultFiles.SUCCEEDED[0].Key) as unknown as any[];
    expect(ok.map((e) => JSON.parse(e.Output))).toEqual([
      { ok: true, said: 'fine' },
      { ok: true, said: 'fine' },
      { ok: true, said: 'fine' },
    ]);
    const failed = w.bucket.json(m.ResultFiles.FAILED[0].Key) as unknown as any[];
    expect(failed).toMatchObject([
      { Status: 'FAILED', Error: 'Boom', Cause: 'the item said no', Input: '{"ok":false}' },
    ]);
  });

  it('fails the map run past the tolerated failures, leaving the items not started PENDING', async () => {
    const { error } = await run(definition(0));
    expect(error?.message ?? '').toMatch(/1 of 4 items failed, more than the 0 tolerated/);
    const m = manifest();
    expect(m.ResultFiles.SUCCEEDED).toHaveLength(1);
    const pending = w.bucket.json(m.ResultFiles.PENDING[0].Key) as unknown as any[];
    expect(pending.map((e) => e.Input)).toEqual(['{"ok":true}', '{"ok":true}']);
  });

  it('gives the Task that runs the map no 60 s timeout: a map runs as long as its items, as on AWS', () => {
    // The engine gives a Task without TimeoutSeconds the ASL spec's 60 s (a fleet of 200 on the
    // sandbox ended in States.Timeout after a minute), and arms it with setTimeout, for which more
    // than 2^31 - 1 ms fires at once.
    const each = (d: { definition: unknown }) =>
      (d.definition as { States: Record<string, { Type: string; TimeoutSeconds?: number }> }).States.Each;
    const task = each(forLocalDistributedMaps(definition(100)));
    expect(task?.Type).toBe('Task');
    expect(task?.TimeoutSeconds).toBe(LOCAL_MAP_TIMEOUT_SECONDS);
    expect(LOCAL_MAP_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(LOCAL_MAP_TIMEOUT_SECONDS).toBeGreaterThan(24 * 3600);
    expect(each(forLocalDistributedMaps(definition(100, { TimeoutSeconds: 600 })))?.TimeoutSeconds).toBe(600);
  });

  it('refuses a Distributed Map it cannot run as AWS would, naming what', () => {
    expect(() => forLocalDistributedMaps(definition(100, { ItemSelector: { 'x.$': '$' } }))).toThrow(
      /"Each": ItemSelector is not supported by the local adapter/,
    );
  });

  it('fails with States.ItemReaderFailed when the item list is missing', async () => {
    w.bucket.objects.delete('in/items.json');
    const { error } = await run(definition(100));
    expect(error?.message ?? '').toMatch(/in\/items\.json is missing or is not a JSON array/);
  });
});
