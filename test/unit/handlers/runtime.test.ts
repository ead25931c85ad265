// The handlers as Lambda runs them: configuration from CIM_CONFIG, errors keep their
// Step Functions name and say which step failed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '#core/config-file';
import { TaskFunctions } from '#core/steps';
import { handlers } from '#handlers/index';
import { handler as prepare } from '#handlers/prepare';
import { memoryBucket } from '../../fixtures/memory-s3.ts';
import { fixture } from '../../fixtures/world.ts';

const bucket = memoryBucket();
beforeAll(() => {
  process.env.CIM_CONFIG = JSON.stringify(loadConfigFile(fixture('environments.yaml')));
});
afterAll(() => {
  bucket.mock.restore();
  delete process.env.CIM_CONFIG;
});

describe('Lambda handlers', () => {
  it('exist for every Task function', () => {
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(TaskFunctions).sort());
  });

  it('prepare resolves the environment from the deployed configuration and takes the lock', async () => {
    const ctx = (await prepare({
      input: { action: 'down', customer: 'alpha', environment: 'dev', build: '7', user: 'u' },
      executionId: 'arn:x',
    })) as any;
    expect(ctx.env.namespace).toBe('alpha-dev');
    expect(ctx.lock.owner).toBe('arn:x');
    expect(bucket.json('eks-dev-cluster/alpha/dev/lock.json')).toMatchObject({ owner: 'arn:x', build: '7' });
  });

  it('keeps the error name for Retry/Catch and prefixes the step', async () => {
    await expect(
      prepare({
        input: { action: 'down', customer: 'alpha', environment: 'dev', build: '8', user: 'u' },
        executionId: 'arn:y',
      }),
    ).rejects.toMatchObject({
      name: 'EnvironmentLocked',
      message: expect.stringMatching(/^Prepare: environment is locked by build 7/),
    });
    await expect(prepare({ input: { action: 'sleep' } })).rejects.toMatchObject({ name: 'InvalidInput' });
  });

  it('generates a sortable build id when none is given', async () => {
    const ctx = (await prepare({
      input: { action: 'get_env_state', customer: 'beta', environment: 'staging', user: 'u', dryRun: true },
    })) as any;
    expect(ctx.request.build).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(ctx.lock).toBeNull();
  });
});
