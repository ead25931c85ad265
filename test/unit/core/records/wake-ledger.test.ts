// The wake ledgers the rate limits count: one entry per wake however often it is recorded,
// entries past the hour dropped on write, concurrent recordings all kept (conditional writes),
// and a ledger that is not one refused naming its key.
import { describe, expect, it } from 'vitest';
import type { Environment } from '#core/config/schema';
import { ErrorNames } from '#core/errors';
import { PreconditionFailed, type PutCondition, type StateStore } from '#core/gateways/store';
import { environmentLedgerKey, personLedgerKey, readLedger, recordInLedger } from '#core/records/wake-ledger';

/** A bucket in memory with S3's conditional writes (no SDK): etags count up. */
function memoryStore() {
  const objects = new Map<string, { json: unknown; etag: string }>();
  let n = 0;
  let puts = 0;
  const store: StateStore = {
    bucket: 'b',
    async getJson(key) {
      const o = objects.get(key);
      return o ? { json: structuredClone(o.json), etag: o.etag } : null;
    },
    async putJson(key, value, cond: PutCondition = {}) {
      puts++;
      const o = objects.get(key);
      if ((cond.ifNoneMatch && o) || (cond.ifMatch && o?.etag !== cond.ifMatch))
        throw new PreconditionFailed(key);
      const etag = `"${++n}"`;
      objects.set(key, { json: structuredClone(value), etag });
      return { etag };
    },
    async deleteObject(key) {
      objects.delete(key);
    },
    async listKeys() {
      return [...objects.keys()];
    },
  };
  return { store, objects, puts: () => puts };
}

const env = { customer: 'alpha', environment: 'dev', keyPrefix: 'c/alpha/dev' } as Environment;
const now = new Date('2026-12-06T20:00:00Z');
const entry = (build: string, minutesAgo = 0, user = 'alice') => ({
  at: new Date(now.getTime() - minutesAgo * 60_000).toISOString(),
  user,
  environment: 'alpha/dev',
  build,
});

describe('the wake ledgers', () => {
  it('live beside wake.json (the environment’s) and under wake-ledger/users/ (a person’s, by a hash of the user)', () => {
    expect(environmentLedgerKey(env)).toBe('c/alpha/dev/wake-ledger.json');
    expect(personLedgerKey('alice')).toMatch(/^wake-ledger\/users\/[0-9a-f]{32}\.json$/);
    expect(personLedgerKey('alice')).not.toBe(personLedgerKey('bob'));
  });

  it('records a wake once however often it is recorded (a retried request)', async () => {
    const { store, puts } = memoryStore();
    const key = environmentLedgerKey(env);
    await recordInLedger(store, key, entry('20261206T195000Z-aaaaaa'), now);
    await recordInLedger(store, key, entry('20261206T195000Z-aaaaaa'), now);
    expect((await readLedger(store, key)).wakes).toHaveLength(1);
    expect(puts()).toBe(1);
  });

  it('drops the entries past the hour on the next write', async () => {
    const { store } = memoryStore();
    const key = environmentLedgerKey(env);
    await recordInLedger(
      store,
      key,
      entry('20261206T180000Z-aaaaaa', 120),
      new Date(now.getTime() - 120 * 60_000),
    );
    await recordInLedger(store, key, entry('20261206T195000Z-bbbbbb', 10), now);
    expect((await readLedger(store, key)).wakes.map((w) => w.build)).toEqual(['20261206T195000Z-bbbbbb']);
  });

  it('keeps every one of concurrent recordings: a lost conditional write reads again', async () => {
    const { store } = memoryStore();
    const key = personLedgerKey('alice');
    await Promise.all(
      ['aaaaaa', 'bbbbbb', 'cccccc', 'dddddd'].map((s) =>
        recordInLedger(store, key, entry(`20261206T195000Z-${s}`), now),
      ),
    );
    expect((await readLedger(store, key)).wakes).toHaveLength(4);
  });

  it('refuses a ledger that is not one, naming its key', async () => {
    const { store, objects } = memoryStore();
    objects.set('c/alpha/dev/wake-ledger.json', { json: { wakes: [{ at: 'soon' }] }, etag: '"1"' });
    await expect(readLedger(store, environmentLedgerKey(env))).rejects.toMatchObject({
      name: ErrorNames.StateRecordInvalid,
      message: expect.stringContaining('s3://b/c/alpha/dev/wake-ledger.json is not a wake ledger'),
    });
  });
});
