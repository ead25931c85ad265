// The wake record: written with conditional writes (one of concurrent claims wins), read back
// as untrusted input (a bad record is refused naming its key), durations bounded.
import { describe, expect, it } from 'vitest';
import type { Environment } from '#core/config/schema';
import { ErrorNames } from '#core/errors';
import { PreconditionFailed, type PutCondition, type StateStore } from '#core/gateways/store';
import {
  claimWake,
  clearWake,
  MAX_WAKE_MINUTES,
  parseWakeDuration,
  readWake,
  replaceWake,
  type Wake,
  wakeKey,
} from '#core/records/wake';

/** A bucket in memory with S3's conditional writes (no SDK): etags count up. */
function memoryStore() {
  const objects = new Map<string, { json: unknown; etag: string }>();
  let n = 0;
  const store: StateStore = {
    bucket: 'b',
    async getJson(key) {
      const o = objects.get(key);
      return o ? { json: structuredClone(o.json), etag: o.etag } : null;
    },
    async putJson(key, value, cond: PutCondition = {}) {
      const o = objects.get(key);
      if ((cond.ifNoneMatch && o) || (cond.ifMatch && o?.etag !== cond.ifMatch))
        throw new PreconditionFailed(key);
      const etag = `"${++n}"`;
      objects.set(key, { json: structuredClone(value), etag });
      return { etag };
    },
    async deleteObject(key, ifMatch) {
      if (ifMatch && objects.get(key)?.etag !== ifMatch) throw new PreconditionFailed(key);
      objects.delete(key);
    },
    async listKeys() {
      return [...objects.keys()];
    },
  };
  return { store, objects };
}

const env = { customer: 'alpha', environment: 'dev', keyPrefix: 'c/alpha/dev' } as Environment;
const wake: Wake = {
  user: 'alice',
  created: '2026-12-06T19:00:00.000Z',
  until: '2026-12-06T21:00:00.000Z',
  build: '20261206T190000Z-abcdef',
  wokeFrom: '10',
  source: 'cli',
};

describe('the wake record', () => {
  it('is wake.json beside actions.json, stored with snake_case keys and read back as written', async () => {
    const { store, objects } = memoryStore();
    expect(wakeKey(env)).toBe('c/alpha/dev/wake.json');
    await claimWake(store, env, wake, null);
    expect(objects.get('c/alpha/dev/wake.json')?.json).toEqual({
      user: 'alice',
      created: wake.created,
      until: wake.until,
      build: wake.build,
      woke_from: '10',
      source: 'cli',
    });
    expect((await readWake(store, env))?.wake).toEqual(wake);
  });

  it('keeps the optional HTTP fields (address, user agent) and an extension time', async () => {
    const { store } = memoryStore();
    const http: Wake = {
      ...wake,
      source: 'http',
      address: '203.0.113.7',
      userAgent: 'Mozilla/5.0',
      extended: '2026-12-06T20:00:00.000Z',
    };
    await claimWake(store, env, http, null);
    expect((await readWake(store, env))?.wake).toEqual(http);
  });

  it('lets exactly one of many concurrent claims win; the others get null', async () => {
    const { store } = memoryStore();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => claimWake(store, env, { ...wake, user: `p${i}` }, null)),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  it('replaces only over the etag read, and clears only the one read', async () => {
    const { store } = memoryStore();
    const first = await claimWake(store, env, wake, null);
    if (!first) throw new Error('claim failed');
    const moved = await replaceWake(store, env, { ...wake, until: '2026-12-06T22:00:00.000Z' }, first.etag);
    await expect(replaceWake(store, env, wake, first.etag)).rejects.toMatchObject({
      name: ErrorNames.ConditionalWriteConflict,
    });
    expect(await clearWake(store, env, first.etag)).toBe(false);
    expect(await clearWake(store, env, moved.etag)).toBe(true);
    expect(await readWake(store, env)).toBeNull();
  });

  it.each([
    ['not an object', 'awake'],
    ['no user', { ...wake, user: undefined }],
    ['a user with a bidirectional override', { user: 'al\u202eice' }],
    ['an until that is not a time', { until: 'tomorrow' }],
    ['an until before created', { until: '2026-12-06T18:00:00.000Z' }],
    ['an until far past the maximum', { until: '2099-01-01T00:00:00.000Z' }],
    ['a build that is not a build id', { build: '../x' }],
    ['an unknown source', { source: 'email' }],
    ['an address too long', { source: 'http', address: 'x'.repeat(65) }],
  ])('is refused with its key named when it has %s', async (_, patch) => {
    const { store, objects } = memoryStore();
    const stored = {
      user: wake.user,
      created: wake.created,
      until: wake.until,
      build: wake.build,
      woke_from: wake.wokeFrom,
      source: wake.source,
    };
    objects.set('c/alpha/dev/wake.json', {
      json: typeof patch === 'string' ? patch : { ...stored, ...patch },
      etag: '"x"',
    });
    await expect(readWake(store, env)).rejects.toMatchObject({
      name: ErrorNames.StateRecordInvalid,
      message: expect.stringContaining('s3://b/c/alpha/dev/wake.json is not a wake'),
    });
  });
});

describe('a wake duration', () => {
  it.each([
    ['90m', 90],
    ['2h', 120],
    ['12h', MAX_WAKE_MINUTES],
    ['1m', 1],
  ])('%s is %i minutes', (raw, minutes) => {
    expect(parseWakeDuration(raw)).toBe(minutes);
  });

  it.each(['0', '0h', '99h', '13h', '721m', 'abc', '2', '-1h', '1.5h', '', '1d'])(
    '"%s" is refused',
    (raw) => {
      expect(() => parseWakeDuration(raw, '--for')).toThrow(
        expect.objectContaining({ name: ErrorNames.InvalidInput }),
      );
    },
  );
});
