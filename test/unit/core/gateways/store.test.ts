import { GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import { putOnce } from '#core/gateways/store';
import { memoryBucket } from '../../../support/memory-s3.ts';

let bucket: ReturnType<typeof memoryBucket>;
let store: S3StateStore;
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

describe('write-once records', () => {
  it('adopts its own earlier object when a retried step writes it again', async () => {
    expect(await putOnce(store, 'a/pre-state.json', { n: 1 }, 'exec-1')).toEqual({ adopted: null });
    expect(await putOnce(store, 'a/pre-state.json', { n: 2 }, 'exec-1')).toEqual({ adopted: { n: 1 } });
    expect(bucket.json('a/pre-state.json')).toEqual({ n: 1 });
  });

  it("refuses to overwrite another execution's record", async () => {
    await putOnce(store, 'a/actions.json', { n: 1 }, 'exec-1');
    await expect(putOnce(store, 'a/actions.json', { n: 2 }, 'exec-2')).rejects.toMatchObject({
      name: 'RecordConflict',
      message: expect.stringContaining('execution exec-1'),
    });
    expect(bucket.json('a/actions.json')).toEqual({ n: 1 });
  });

  it('names the bucket and the fix when the bucket does not exist', async () => {
    bucket.mock
      .on(ListObjectsV2Command)
      .rejects(
        new S3ServiceException({ name: 'NoSuchBucket', $fault: 'client', $metadata: {}, message: 'nope' }),
      );
    await expect(store.listKeys('a/')).rejects.toMatchObject({
      name: 'PreflightFailed',
      message: expect.stringMatching(/bucket "customer-infra-manager" does not exist.*stack.createBucket/),
    });
  });
});

describe('a missing record read without a 404', () => {
  const denied = () =>
    new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } });

  it('is missing when S3 answers 403 and a listing of exactly that key finds nothing (ListBucket under a prefix condition)', async () => {
    bucket.mock.on(GetObjectCommand, { Key: 'a/hold.json' }).rejects(denied());
    bucket.mock.on(ListObjectsV2Command, { Prefix: 'a/hold.json' }).resolves({ Contents: [] });
    expect(await store.getJson('a/hold.json')).toBeNull();
    expect(bucket.mock.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toMatchObject({
      Prefix: 'a/hold.json',
      MaxKeys: 1,
    });
  });

  it('is an access error when the key is listed but cannot be read, or the listing is denied too', async () => {
    bucket.mock.on(GetObjectCommand, { Key: 'a/hold.json' }).rejects(denied());
    bucket.mock
      .on(ListObjectsV2Command, { Prefix: 'a/hold.json' })
      .resolves({ Contents: [{ Key: 'a/hold.json' }] });
    await expect(store.getJson('a/hold.json')).rejects.toMatchObject({
      name: 'PreflightFailed',
      message: expect.stringContaining('access denied by S3'),
    });
    bucket.mock.on(ListObjectsV2Command, { Prefix: 'a/hold.json' }).rejects(denied());
    await expect(store.getJson('a/hold.json')).rejects.toMatchObject({ name: 'PreflightFailed' });
    // A key that only starts with the one asked for is not it.
    bucket.mock
      .on(ListObjectsV2Command, { Prefix: 'a/hold.json' })
      .resolves({ Contents: [{ Key: 'a/hold.json.bak' }] });
    expect(await store.getJson('a/hold.json')).toBeNull();
  });
});
