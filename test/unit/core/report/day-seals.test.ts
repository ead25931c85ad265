import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import {
  MAX_SEAL_PARTS,
  parseSealPart,
  readSeals,
  SEAL_AFTER_MS,
  sealable,
  sealPartKey,
  unsealDays,
  writeSeal,
} from '#core/report/day-seals';
import { requestBudget } from '#core/report/read-budget';
import { memoryBucket } from '../../../support/memory-s3.ts';

const BUCKET = 'customer-infra-manager';
let bucket: ReturnType<typeof memoryBucket>;
let store: S3StateStore;
beforeEach(() => {
  bucket = memoryBucket();
  store = new S3StateStore(new S3Client({ region: 'us-east-1' }), BUCKET);
});
afterEach(() => bucket.mock.restore());

const day = '2026-12-01';
const dayEnd = Date.parse('2026-12-02T00:00:00.000Z');
const sealedDay = { rows: [{ build: 'b1' }], excluded: [] };

describe('day seals', () => {
  it('seal a day only once the environment run timeout and an hour have passed since its end', () => {
    expect(SEAL_AFTER_MS).toBe(7 * 3600 * 1000);
    expect(sealable(day, new Date(dayEnd + SEAL_AFTER_MS - 1))).toBe(false);
    expect(sealable(day, new Date(dayEnd + SEAL_AFTER_MS))).toBe(true);
    expect(sealable('not-a-day', new Date(dayEnd + SEAL_AFTER_MS))).toBe(false);
  });

  it('name a part by the key prefixes it covers, whatever their order', () => {
    expect(sealPartKey(day, ['b/x', 'a/y'])).toBe(sealPartKey(day, ['a/y', 'b/x']));
    expect(sealPartKey(day, ['a/y'])).not.toBe(sealPartKey(day, ['a/y', 'b/x']));
    expect(sealPartKey(day, ['a/y'])).toMatch(/^report\/index\/2026-12-01\/[0-9a-f]{16}\.json$/);
  });

  it('are written once: the same selection again finds its part, a day not yet over gets none', async () => {
    const now = new Date(dayEnd + SEAL_AFTER_MS);
    const envs = new Map([['alpha/dev', sealedDay]]);
    expect(await writeSeal(store, day, now, envs, 0)).toBe('written');
    expect(await writeSeal(store, day, now, envs, 1)).toBe('exists');
    expect(await writeSeal(store, '2026-12-02', now, envs, 0)).toBe('skipped');
    expect(await writeSeal(store, day, now, new Map([['omega/dev', sealedDay]]), MAX_SEAL_PARTS)).toBe(
      'skipped',
    );
    const read = await readSeals(store, day);
    expect(read).toMatchObject({ parts: 1, exclusions: [] });
    expect(read.sealed.get('alpha/dev')).toEqual(sealedDay);
  });

  it('refuse a part of another day, another schema or a bad shape, naming why', () => {
    expect(parseSealPart({ schema: 1, day: '2026-11-30', environments: {} }, day)).toEqual({
      reason: 'seals "2026-11-30", not the day it is filed under (2026-12-01)',
    });
    expect(parseSealPart({ schema: 2, day, environments: {} }, day)).toEqual({
      reason: 'has schema 2, not 1',
    });
    expect(parseSealPart([], day)).toEqual({ reason: 'is not a JSON object' });
    expect(
      parseSealPart({ schema: 1, day, environments: { 'a/b': { rows: 'x', excluded: [] } } }, day),
    ).toEqual({
      reason: 'has no rows and excluded lists for "a/b"',
    });
    expect(
      parseSealPart({ schema: 1, day, environments: { 'a/b': { rows: [], excluded: [{ key: 1 }] } } }, day),
    ).toEqual({ reason: 'has a bad exclusion for "a/b"' });
  });

  it('are deleted for the days a backfill added rows to', async () => {
    const now = new Date(dayEnd + SEAL_AFTER_MS + 86_400_000);
    await writeSeal(store, day, now, new Map([['alpha/dev', sealedDay]]), 0);
    await writeSeal(store, day, now, new Map([['omega/dev', sealedDay]]), 1);
    await writeSeal(store, '2026-12-02', now, new Map([['alpha/dev', sealedDay]]), 0);
    expect(await unsealDays(store, [day, day])).toBe(2);
    expect([...bucket.objects.keys()].filter((k) => k.startsWith('report/index/'))).toEqual([
      sealPartKey('2026-12-02', ['alpha/dev']),
    ]);
  });
});

describe('the request budget', () => {
  it('never has more calls in flight than allowed, and runs them all', async () => {
    const budget = requestBudget(3);
    let inFlight = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const calls = Array.from({ length: 10 }, (_, i) =>
      budget(async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise<void>((r) => release.push(r));
        inFlight--;
        return i;
      }),
    );
    // Release the calls one by one as they start: each release lets exactly one more in.
    for (let done = 0; done < 10; done++) {
      await new Promise((r) => setImmediate(r));
      expect(inFlight).toBeLessThanOrEqual(3);
      release.shift()?.();
    }
    expect(await Promise.all(calls)).toEqual([...Array(10).keys()]);
    expect(most).toBe(3);
  });
});
