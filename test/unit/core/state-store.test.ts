import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, releaseLock, S3StateStore } from '#core/state-store';
import { memoryBucket } from '../../fixtures/memory-s3.ts';

let bucket: ReturnType<typeof memoryBucket>;
let store: S3StateStore;
const now = new Date('2026-11-26T20:00:00Z');
const info = (owner: string) => ({ owner, build: owner, execution_id: `exec-${owner}` });
beforeEach(() => {
  bucket = memoryBucket();
  store = new S3StateStore(new S3Client({ region: 'us-east-1' }), 'customer-infra-manager');
});
afterEach(() => bucket.mock.restore());

describe('S3 state store', () => {
  it('writes JSON once with If-None-Match and refuses to overwrite', async () => {
    await store.putJson('a/pre-state.json', { x: 1 }, { ifNoneMatch: true });
    await expect(store.putJson('a/pre-state.json', { x: 2 }, { ifNoneMatch: true })).rejects.toMatchObject({
      name: 'PreconditionFailed',
    });
    expect(bucket.json('a/pre-state.json')).toEqual({ x: 1 });
  });

  it('reports an object that is not JSON as an invalid record', async () => {
    bucket.put('a/actions.json', '{"oops"');
    await expect(store.getJson('a/actions.json')).rejects.toMatchObject({
      name: 'StateRecordInvalid',
      message: expect.stringContaining('versioned'),
    });
    expect(await store.getJson('a/missing.json')).toBeNull();
  });
});

describe('environment lock', () => {
  it('lets one run in and tells the other who holds it', async () => {
    await acquireLock(store, 'e/lock.json', info('A'), now, 600);
    await expect(acquireLock(store, 'e/lock.json', info('B'), now, 600)).rejects.toMatchObject({
      name: 'EnvironmentLocked',
      message: expect.stringContaining('build A (execution exec-A)'),
    });
  });

  it('is re-entrant for the same execution (a retried step)', async () => {
    await acquireLock(store, 'e/lock.json', info('A'), now, 600);
    await expect(acquireLock(store, 'e/lock.json', info('A'), now, 600)).resolves.toMatchObject({
      owner: 'A',
    });
  });

  it('takes over an expired lock, once', async () => {
    await acquireLock(store, 'e/lock.json', info('A'), new Date(now.getTime() - 3_600_000), 600);
    const held = await acquireLock(store, 'e/lock.json', info('B'), now, 600);
    expect(held.tookOverFrom?.owner).toBe('A');
    await expect(acquireLock(store, 'e/lock.json', info('C'), now, 600)).rejects.toMatchObject({
      name: 'EnvironmentLocked',
    });
  });

  it('releases only its own lock', async () => {
    await acquireLock(store, 'e/lock.json', info('A'), now, 600);
    expect(await releaseLock(store, 'e/lock.json', 'B')).toBe('not-ours');
    expect(bucket.objects.has('e/lock.json')).toBe(true);
    expect(await releaseLock(store, 'e/lock.json', 'A')).toBe('released');
    expect(await releaseLock(store, 'e/lock.json', 'A')).toBe('absent');
  });
});
