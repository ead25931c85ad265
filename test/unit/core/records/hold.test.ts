// The hold record and its rule: a --skip-next hold skips exactly one scheduled run and is
// consumed by it with a conditional write; a retry of that run skips again without a second
// write; any other run finds it ended; a hold written before keeps its old meaning.
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import type { Environment } from '#core/config/schema';
import {
  consumeHold,
  describeHold,
  type Hold,
  holdDecision,
  holdKey,
  holdScope,
  placeHold,
  readHold,
} from '#core/records/hold';
import { memoryBucket } from '../../../support/memory-s3.ts';

let bucket: ReturnType<typeof memoryBucket>;
let store: S3StateStore;
const env = { customer: 'alpha', environment: 'dev', keyPrefix: 'eks-dev-cluster/alpha/dev' } as Environment;
const now = new Date('2026-11-26T18:00:00Z');
const later = new Date('2026-11-26T19:00:00Z');
const KEY = 'eks-dev-cluster/alpha/dev/hold.json';

const once: Hold = {
  user: 'alice',
  reason: 'late demo',
  created: now.toISOString(),
  until: '2026-11-28T18:00:00.000Z',
  skipNext: 'down',
  endsAfterSkip: true,
};
const run = (build: string, executionId = `exec-${build}`) => ({
  action: 'down' as const,
  build,
  executionId,
});

beforeEach(() => {
  bucket = memoryBucket();
  store = new S3StateStore(new S3Client({ region: 'us-east-1' }), 'customer-infra-manager');
});
afterEach(() => bucket.mock.restore());

describe('the hold rule', () => {
  it('has a --skip-next hold consumed by the next scheduled run of its action only', () => {
    expect(holdDecision(once, later, run('20'))).toBe('consume');
    expect(holdDecision(once, later, { ...run('20'), action: 'up' })).toBe('none');
    expect(holdDecision(once, later, { ...run('20'), action: 'get_env_state' })).toBe('none');
  });

  it('keeps a legacy skip_next hold (no ends_after_skip) holding back every scheduled run until its until', () => {
    const legacy: Hold = { ...once, endsAfterSkip: false };
    expect(holdDecision(legacy, later, run('20'))).toBe('skip');
    expect(holdDecision(legacy, new Date('2026-11-27T19:00:00Z'), run('21'))).toBe('skip');
    expect(holdDecision(legacy, new Date('2026-11-28T18:00:01Z'), run('22'))).toBe('none');
    expect(describeHold(legacy)).toContain('holding back scheduled down runs only');
  });

  it('ends a --skip-next hold that never met its run at its until', () => {
    expect(holdDecision(once, new Date('2026-11-28T18:00:01Z'), run('20'))).toBe('none');
  });

  it('skips the consuming build again (a retry) and lets every other run go ahead', () => {
    const consumed: Hold = {
      ...once,
      until: later.toISOString(),
      consumed: { build: '20', executionId: 'exec-20', at: later.toISOString(), untilBefore: once.until },
    };
    const afterwards = new Date('2026-11-27T19:00:00Z');
    expect(holdDecision(consumed, afterwards, run('20', 'another-execution'))).toBe('skip');
    expect(holdDecision(consumed, afterwards, run('retried-build', 'exec-20'))).toBe('skip');
    expect(holdDecision(consumed, later, run('21'))).toBe('none');
    expect(holdScope(consumed)).toMatch(/^consumed by build 20 at 2026-11-26T19:00:00.000Z/);
    expect(holdScope(once)).toBe('skips the next scheduled down, then ends');
  });
});

describe('the hold record', () => {
  it('reads a hold written before (without the new keys) with its old meaning', async () => {
    bucket.put(KEY, {
      user: 'bob',
      reason: null,
      created: now.toISOString(),
      until: once.until,
      skip_next: 'down',
    });
    const read = await readHold(store, env);
    expect(read?.hold).toEqual({
      user: 'bob',
      reason: null,
      created: now.toISOString(),
      until: once.until,
      skipNext: 'down',
    });
    expect(holdDecision(read?.hold as Hold, later, run('20'))).toBe('skip');
  });

  it('writes a plain hold without the new keys', async () => {
    await placeHold(store, env, { ...once, skipNext: null, endsAfterSkip: false });
    expect(Object.keys(bucket.json(KEY) as object).sort()).toEqual(
      ['created', 'reason', 'skip_next', 'until', 'user'].sort(),
    );
  });

  it('is consumed once: the write moves until to that moment and names the build', async () => {
    await placeHold(store, env, once);
    const read = await readHold(store, env);
    expect(read?.hold.endsAfterSkip).toBe(true);
    expect(await consumeHold(store, env, read as never, run('20'), later)).toBe(true);
    expect(bucket.json(KEY)).toMatchObject({
      skip_next: 'down',
      ends_after_skip: true,
      until: later.toISOString(),
      consumed: { build: '20', execution_id: 'exec-20', at: later.toISOString(), until_before: once.until },
    });
    const again = await readHold(store, env);
    expect(again?.hold.consumed).toEqual({
      build: '20',
      executionId: 'exec-20',
      at: later.toISOString(),
      untilBefore: once.until,
    });
  });

  it('lets only one of two runs that read the same hold consume it', async () => {
    await placeHold(store, env, once);
    const read = (await readHold(store, env)) as { hold: Hold; etag: string };
    expect(await consumeHold(store, env, read, run('20'), later)).toBe(true);
    expect(await consumeHold(store, env, read, run('21'), later)).toBe(false);
    expect(bucket.json(KEY)).toMatchObject({ consumed: { build: '20' } });
    const now2 = (await readHold(store, env))?.hold as Hold;
    expect(holdDecision(now2, later, run('21'))).toBe('none');
  });

  it('keys the hold beside actions.json', () => {
    expect(holdKey(env)).toBe(KEY);
  });
});
