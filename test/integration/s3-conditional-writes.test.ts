// The sandbox's S3 makes conditional writes atomic, as S3 does: of two concurrent PUTs that
// both ask for a key that does not exist yet (If-None-Match: *), or both replace the same
// version (If-Match: etag), exactly one succeeds and the other gets 412 (or 409). moto 5.2
// alone checks the condition and then writes with nothing held in between, and under its
// threaded server both PUTs of a pair sometimes succeeded; sandbox/moto-serialized.py
// holds one lock around S3 writes. The lock and the records depend on this.
import { Agent } from 'node:http';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { sandbox } from './peers.ts';

// One attempt per request: a retried loser would hide what the server answered first.
// Sockets for every request at once, so the pairs really arrive together.
const s3 = new S3Client({
  region: 'us-east-1',
  endpoint: sandbox.awsEndpoint,
  forcePathStyle: true,
  maxAttempts: 1,
  credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 400 }) },
});
const Bucket = sandbox.bucket;
const PAIRS = 200;
const prefix = `conditional-writes/${Date.now()}`;

/** Each pair's outcome: how many PUTs won, and the error names of the others. */
async function race(put: (i: number, n: number) => Promise<unknown>) {
  return Promise.all(
    Array.from({ length: PAIRS }, async (_, i) => {
      const r = await Promise.allSettled([put(i, 0), put(i, 1)]);
      return {
        i,
        won: r.flatMap((x, n) => (x.status === 'fulfilled' ? [n] : [])),
        lost: r.flatMap((x) => (x.status === 'rejected' ? [String((x.reason as Error).name)] : [])),
      };
    }),
  );
}

const body = async (Key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString() ?? '';

describe("the sandbox's S3: conditional writes are atomic", () => {
  it('of 200 concurrent pairs of If-None-Match: * PUTs of a new key, exactly one of each pair wins', async () => {
    const pairs = await race((i, n) =>
      s3.send(
        new PutObjectCommand({ Bucket, Key: `${prefix}/new/${i}`, Body: `writer ${n}`, IfNoneMatch: '*' }),
      ),
    );
    expect(pairs.filter((p) => p.won.length !== 1)).toEqual([]);
    for (const p of pairs) expect(['PreconditionFailed', 'ConditionalRequestConflict']).toContain(p.lost[0]);
    // The object holds the winner's body: the loser wrote nothing.
    const sample = pairs.slice(0, 20);
    for (const p of sample) expect(await body(`${prefix}/new/${p.i}`)).toBe(`writer ${p.won[0]}`);
  });

  it('of 200 concurrent pairs of If-Match PUTs replacing one version, exactly one of each pair wins', async () => {
    const etags = await Promise.all(
      Array.from({ length: PAIRS }, async (_, i) => {
        const { ETag } = await s3.send(
          new PutObjectCommand({ Bucket, Key: `${prefix}/replace/${i}`, Body: 'v1' }),
        );
        return ETag;
      }),
    );
    const pairs = await race((i, n) =>
      s3.send(
        new PutObjectCommand({
          Bucket,
          Key: `${prefix}/replace/${i}`,
          Body: `v2 by ${n}`,
          IfMatch: etags[i],
        }),
      ),
    );
    expect(pairs.filter((p) => p.won.length !== 1)).toEqual([]);
    for (const p of pairs) expect(['PreconditionFailed', 'ConditionalRequestConflict']).toContain(p.lost[0]);
    for (const p of pairs.slice(0, 20))
      expect(await body(`${prefix}/replace/${p.i}`)).toBe(`v2 by ${p.won[0]}`);
  });
});
