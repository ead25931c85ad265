import { describe, expect, it } from 'vitest';
import { CimError } from '#core/errors';
import {
  applyOverride,
  defaultPriceTable,
  parsePriceOverride,
  parsePriceTable,
  reportPrices,
} from '#core/report/prices';

const table = () => ({
  source: 'test table',
  date: '2026-12-01',
  currency: 'USD',
  databaseHours: {
    'us-east-1|postgres|db.m5.large|single-az': { usd: 0.2, unit: 'hour' },
    'us-east-1|postgres|db.m5.large|multi-az': { usd: 0.35, unit: 'hour' },
    'us-east-1|aurora-postgresql|db.serverless|single-az': { usd: 0.12, unit: 'acu-hour' },
  },
  storage: {
    'us-east-1|gp3': { usd: 0.1, unit: 'gb-month' },
    'us-east-1|io1|iops': { usd: 0.1, unit: 'iops-month' },
  },
  kubernetes: null,
  tool: { stateTransition: 0.000025, lambdaGbSecond: 0.0000133334 },
});

/** The error a bad table raises, to assert on its name and message. */
function refusal(f: () => unknown): CimError {
  try {
    f();
  } catch (err) {
    if (err instanceof CimError) return err;
    throw err;
  }
  throw new Error('expected the table to be refused');
}

describe('the shipped price table', () => {
  it('is valid, dated and says where its prices come from', () => {
    const t = defaultPriceTable();
    expect(t.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(t.source).toContain('https://');
    expect(Object.keys(t.databaseHours).length).toBeGreaterThan(0);
    // A Multi-AZ price is its own entry, never derived from the single-AZ one.
    expect(t.databaseHours['us-east-1|postgres|db.t4g.micro|multi-az']?.usd).toBe(0.032);
  });
});

describe('reportPrices', () => {
  it('is the shipped table, or the shipped table with an override file’s content applied', () => {
    expect(reportPrices()).toEqual(defaultPriceTable());
    const text = JSON.stringify({
      source: 'contract 42',
      date: '2026-11-15',
      databaseHours: { 'us-east-1|postgres|db.t4g.micro|single-az': { usd: 0.012, unit: 'hour' } },
    });
    const t = reportPrices({ text, name: 'overrides.json' });
    expect(t.databaseHours['us-east-1|postgres|db.t4g.micro|single-az']?.usd).toBe(0.012);
    expect(t.overrides).toBe('contract 42 (2026-11-15)');
    expect(() => reportPrices({ text: '{"source":', name: 'overrides.json' })).toThrow(
      'overrides.json is not JSON',
    );
  });
});

describe('parsePriceTable', () => {
  it('accepts a valid table as it is, from an object or from JSON text', () => {
    expect(
      parsePriceTable(table(), 't.json').databaseHours['us-east-1|postgres|db.m5.large|multi-az'],
    ).toEqual({
      usd: 0.35,
      unit: 'hour',
    });
    expect(parsePriceTable(JSON.stringify(table()), 't.json').source).toBe('test table');
  });

  it('refuses a negative price, naming the entry', () => {
    const t = table();
    t.databaseHours['us-east-1|postgres|db.m5.large|single-az'].usd = -0.2;
    const err = refusal(() => parsePriceTable(t, 'prices.json'));
    expect(err.name).toBe('ConfigInvalid');
    expect(err.message).toContain('prices.json');
    expect(err.message).toContain('databaseHours["us-east-1|postgres|db.m5.large|single-az"].usd');
    expect(err.message).toContain('-0.2');
  });

  it('refuses a non-numeric, NaN or zero price, naming the entry', () => {
    for (const bad of ['0.2', null, Number.NaN, 0]) {
      const t = table() as { storage: Record<string, { usd: unknown; unit: string }> };
      (t.storage['us-east-1|gp3'] as { usd: unknown }).usd = bad;
      const err = refusal(() => parsePriceTable(t, 'prices.json'));
      expect(err.message).toContain('storage["us-east-1|gp3"].usd');
    }
  });

  it('refuses an absurd price, a bad key and a unit that does not fit the key', () => {
    const absurd = table();
    absurd.databaseHours['us-east-1|postgres|db.m5.large|single-az'].usd = 146_000;
    expect(refusal(() => parsePriceTable(absurd, 'p')).message).toContain('absurd');

    const badKey = table() as { databaseHours: Record<string, unknown> };
    badKey.databaseHours['postgres db.m5.large'] = { usd: 0.2, unit: 'hour' };
    expect(refusal(() => parsePriceTable(badKey, 'p')).message).toContain(
      'databaseHours["postgres db.m5.large"]: a key must read region|engine|db.class|single-az or multi-az',
    );

    const badUnit = table();
    badUnit.databaseHours['us-east-1|postgres|db.m5.large|single-az'].unit = 'gb-month';
    expect(refusal(() => parsePriceTable(badUnit, 'p')).message).toContain('must be hour, got gb-month');
  });

  it('refuses a table with no date or no source, and text that is not JSON (a truncated file)', () => {
    const { date: _date, ...undated } = table();
    expect(refusal(() => parsePriceTable(undated, 'p')).message).toContain('date:');
    expect(refusal(() => parsePriceTable({ ...table(), source: ' ' }, 'p')).message).toContain('source');
    const text = JSON.stringify(table());
    const err = refusal(() => parsePriceTable(text.slice(0, text.length / 2), 'p.json'));
    expect(err.message).toContain('p.json is not JSON');
  });
});

describe('applyOverride', () => {
  it('replaces the prices it names, adds new ones and keeps the rest and the table’s own date', () => {
    const base = parsePriceTable(table(), 'default');
    const override = parsePriceOverride(
      {
        source: 'negotiated rates, contract 42',
        date: '2026-11-15',
        databaseHours: {
          'us-east-1|postgres|db.m5.large|single-az': { usd: 0.15, unit: 'hour' },
          'eu-west-1|postgres|db.m5.large|single-az': { usd: 0.19, unit: 'hour' },
        },
        kubernetes: { vcpuHour: 0.03, gibHour: 0.004 },
      },
      'overrides.json',
    );
    const t = applyOverride(base, override);
    expect(t.databaseHours['us-east-1|postgres|db.m5.large|single-az']?.usd).toBe(0.15);
    expect(t.databaseHours['eu-west-1|postgres|db.m5.large|single-az']?.usd).toBe(0.19);
    expect(t.databaseHours['us-east-1|postgres|db.m5.large|multi-az']?.usd).toBe(0.35);
    expect(t.storage).toEqual(base.storage);
    expect(t.kubernetes).toEqual({ vcpuHour: 0.03, gibHour: 0.004 });
    expect(t.tool).toEqual(base.tool);
    expect([t.source, t.date, t.overrides]).toEqual([
      'test table',
      '2026-12-01',
      'negotiated rates, contract 42 (2026-11-15)',
    ]);
    // The base table is not changed in place.
    expect(base.databaseHours['us-east-1|postgres|db.m5.large|single-az']?.usd).toBe(0.2);
  });

  it('refuses an override with no date or with a bad price, naming the entry', () => {
    expect(refusal(() => parsePriceOverride({ source: 'x' }, 'overrides.json')).message).toContain('date:');
    const err = refusal(() =>
      parsePriceOverride(
        { source: 'x', date: '2026-11-15', storage: { 'us-east-1|gp3': { usd: 'cheap', unit: 'gb-month' } } },
        'overrides.json',
      ),
    );
    expect(err.message).toContain('overrides.json');
    expect(err.message).toContain('storage["us-east-1|gp3"].usd');
  });
});
