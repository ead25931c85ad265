// The handlers as Lambda runs them: configuration bundled as deployed-config.json in the
// task root, errors keep their Step Functions name and say which step failed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYED_CONFIG_FILE, deployedConfigJson } from '#core/config/deployed';
import { loadConfigFile } from '#core/config/file';
import { TaskFunctions } from '#core/steps';
import { handlers } from '#handlers/index';
import { handler as prepare } from '#handlers/prepare';
import { memoryBucket } from '../../support/memory-s3.ts';
import { fixture } from '../../support/world.ts';

const bucket = memoryBucket();
beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), 'cim-task-root-'));
  writeFileSync(
    join(root, DEPLOYED_CONFIG_FILE),
    deployedConfigJson(loadConfigFile(fixture('environments.yaml'))),
  );
  process.env.LAMBDA_TASK_ROOT = root;
});
afterAll(() => {
  bucket.mock.restore();
  delete process.env.LAMBDA_TASK_ROOT;
});

describe('Lambda handlers', () => {
  it('exist for every Task function', () => {
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(TaskFunctions).sort());
  });

  const ctx = (customer: string) => ({
    request: {
      action: 'up',
      customer,
      environment: 'dev',
      build: '7',
      user: 'u',
      dryRun: false,
      record: false,
    },
    executionId: 'arn:x',
    startedAt: '2026-11-26T20:00:00.000Z',
    lock: null,
    previous: null,
    latestEtag: null,
    restore: null,
    holder: null,
    changes: [],
    preState: {
      deployments: [],
      database: { kind: 'instance', identifier: 'x', exists: true, state: 'available' },
      timestamp: '2026-11-26T20:00:00Z',
      build: '7',
    },
  });

  it('a step resolves its environment from the bundled configuration', async () => {
    const poll = (await handlers['check-health'](ctx('alpha'))) as { stable: boolean; state: string };
    expect(poll).toMatchObject({ stable: true, state: '0 URL(s) answering' });
    await expect(handlers['check-health'](ctx('nobody'))).rejects.toMatchObject({
      name: 'UnknownEnvironment',
      message: expect.stringMatching(
        /^Check health: environment "nobody\/dev" not found in the deployed configuration/,
      ),
    });
  });

  it('keeps the error name for Retry/Catch and prefixes the step', async () => {
    await expect(prepare({ input: { action: 'sleep' } })).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(/^Prepare: invalid run request: .*action must be one of/),
    });
    await expect(prepare(null)).rejects.toMatchObject({ name: 'InvalidInput' });
  });

  it('refuses a step input that is not a run context, naming the step', async () => {
    await expect(handlers['scale-down']({ hello: 'world' })).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(
        /^Scale deployments to zero: Scale deployments to zero expects the run context produced by Prepare/,
      ),
    });
  });
});
