import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import { acquireLock, fenceLock, holderGone, type LockInfo, releaseLock } from '#core/records/lock';
import { memoryBucket } from '../../../support/memory-s3.ts';

let bucket: ReturnType<typeof memoryBucket>;
let store: S3StateStore;
const now = new Date('2026-11-26T20:00:00Z');
const where = { customer: 'alpha', environment: 'dev' };
const req = (owner: string) => ({
  owner,
  build: `b-${owner}`,
  execution_id: owner,
  action: 'down',
  user: 'jenkins',
  host: 'ci-1',
  pid: 4242,
});
beforeEach(() => {
  bucket = memoryBucket();
  store = new S3StateStore(new S3Client({ region: 'us-east-1' }), 'customer-infra-manager');
});
afterEach(() => bucket.mock.restore());

describe('environment lock', () => {
  it('lets one run in and names the holder and the unlock command to the other', async () => {
    await acquireLock(store, 'e/lock.json', req('A'), now, 600, where);
    await expect(acquireLock(store, 'e/lock.json', req('B'), now, 600, where)).rejects.toMatchObject({
      name: 'EnvironmentLocked',
      message: expect.stringMatching(
        /down build b-A by jenkins \(execution A on ci-1 pid 4242\).*cim unlock --customer alpha --env dev/,
      ),
    });
  });

  it('is owned per execution: two runs of the same build id do not share it', async () => {
    await acquireLock(store, 'e/lock.json', { ...req('A'), build: '7' }, now, 600, where);
    await expect(
      acquireLock(store, 'e/lock.json', { ...req('B'), build: '7' }, now, 600, where),
    ).rejects.toMatchObject({ name: 'EnvironmentLocked' });
    expect(await releaseLock(store, { key: 'e/lock.json', owner: 'B' })).toBe('not-ours');
    expect(bucket.json('e/lock.json')).toMatchObject({ owner: 'A' });
  });

  it('is re-entrant for the same execution (a retried Prepare)', async () => {
    await acquireLock(store, 'e/lock.json', req('A'), now, 600, where);
    await expect(acquireLock(store, 'e/lock.json', req('A'), now, 600, where)).resolves.toMatchObject({
      owner: 'A',
    });
  });

  it('takes over an expired lock, once', async () => {
    await acquireLock(store, 'e/lock.json', req('A'), new Date(now.getTime() - 3_600_000), 600, where);
    const held = await acquireLock(store, 'e/lock.json', req('B'), now, 600, where);
    expect(held.tookOverFrom?.owner).toBe('A');
    await expect(acquireLock(store, 'e/lock.json', req('C'), now, 600, where)).rejects.toMatchObject({
      name: 'EnvironmentLocked',
    });
  });

  it('fences: the holder records its step, a run whose lock was taken over stops', async () => {
    const a = await acquireLock(
      store,
      'e/lock.json',
      req('A'),
      new Date(now.getTime() - 3_600_000),
      600,
      where,
    );
    await fenceLock(store, a, 'Scale deployments to zero', now);
    expect(bucket.json('e/lock.json')).toMatchObject({
      step: 'Scale deployments to zero',
      heartbeat_at: now.toISOString(),
    });
    await acquireLock(store, 'e/lock.json', req('B'), new Date(now.getTime() + 3_600_000), 600, where);
    await expect(fenceLock(store, a, 'Stop database', now)).rejects.toMatchObject({
      name: 'LockLost',
      message: expect.stringContaining('stopped before "Stop database"'),
    });
  });

  it('releases only its own lock', async () => {
    await acquireLock(store, 'e/lock.json', req('A'), now, 600, where);
    expect(await releaseLock(store, { key: 'e/lock.json', owner: 'B' })).toBe('not-ours');
    expect(bucket.objects.has('e/lock.json')).toBe(true);
    expect(await releaseLock(store, { key: 'e/lock.json', owner: 'A' })).toBe('released');
    expect(await releaseLock(store, { key: 'e/lock.json', owner: 'A' })).toBe('absent');
  });
});

describe('is the holder gone (cim unlock)', () => {
  const held = (over: Partial<LockInfo>): Partial<LockInfo> => ({
    owner: 'local:7:ab',
    host: 'ci-1',
    pid: 4242,
    heartbeat_at: now.toISOString(),
    expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
    ...over,
  });
  const probe = (alive: boolean, status: string | null = null) => ({
    host: 'ci-1',
    processAlive: () => alive,
    executionStatus: async () => status,
  });

  it('local run on this host: gone when its process is gone', async () => {
    expect(await holderGone(held({}), now, probe(false))).toMatchObject({ gone: true });
    expect(await holderGone(held({}), now, probe(true))).toMatchObject({
      gone: false,
      why: 'process 4242 on ci-1 is still running',
    });
  });

  it('local run elsewhere: gone only when its heartbeat is older than the lease', async () => {
    const other = { ...probe(true), host: 'laptop' };
    expect(await holderGone(held({}), new Date(now.getTime() + 60_000), other)).toMatchObject({
      gone: false,
    });
    expect(await holderGone(held({}), new Date(now.getTime() + 180_000), other)).toMatchObject({
      gone: true,
    });
  });

  it('deployed run: gone when its execution is no longer RUNNING, unknown status is not gone', async () => {
    const arn = 'arn:aws:states:us-east-1:111122223333:execution:cim:x';
    expect(await holderGone(held({ owner: arn }), now, probe(true, 'RUNNING'))).toMatchObject({
      gone: false,
    });
    expect(await holderGone(held({ owner: arn }), now, probe(true, 'ABORTED'))).toMatchObject({ gone: true });
    expect(await holderGone(held({ owner: arn }), now, probe(true, null))).toMatchObject({ gone: false });
  });

  it('an expired lock is gone whoever held it', async () => {
    expect(
      await holderGone(held({ expires_at: new Date(now.getTime() - 1).toISOString() }), now, probe(true)),
    ).toMatchObject({ gone: true });
  });
});
