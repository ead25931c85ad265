// The price refresh: what it asks the Price List API for (from the recorded database facts),
// how it maps the API's names and deployment options to the table's keys, and what it leaves
// out (an absurd price, a class the API has no price for, two prices for one key); then the
// report's layering: override > the bucket's refreshed table > the shipped table, and a
// corrupt report/prices.json shown as an exclusion with the shipped prices used.
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import type { Environment } from '#core/config/schema';
import { indexKey } from '#core/records/run-index';
import type { DatabaseFacts, PriceTable, RunRow } from '#core/report/model';
import {
  PRICE_LIST_SOURCE,
  REFRESHED_PRICES_KEY,
  readRefreshedPrices,
  recordedDatabase,
  refreshPrices,
  wantedPrices,
  writeRefreshedPrices,
} from '#core/report/price-refresh';
import { defaultPriceTable, layerPrices, parsePriceOverride } from '#core/report/prices';
import { publishReport, REPORT_OBJECTS } from '#core/report/publish';
import { memoryBucket } from '../../../support/memory-s3.ts';
import { fakePriceList, instanceDocument, productDocument } from '../../../support/price-list.ts';

const TODAY = '2026-12-06';
const instance = (over: Partial<DatabaseFacts> = {}): DatabaseFacts => ({
  identifier: 'alpha-dev-db',
  kind: 'instance',
  engine: 'postgres',
  instanceClass: 'db.r6g.large',
  multiAz: true,
  storage: null,
  members: [],
  ...over,
});
const aurora = (members: DatabaseFacts['members'], engine = 'aurora-postgresql'): DatabaseFacts => ({
  identifier: 'alpha-dev-cluster',
  kind: 'cluster',
  engine,
  instanceClass: null,
  multiAz: false,
  storage: null,
  members,
});

describe('refreshPrices', () => {
  it('maps a db.r6g.large PostgreSQL Multi-AZ product to its multi-az key, asking with the API names', async () => {
    const api = fakePriceList([
      instanceDocument(
        { instanceType: 'db.r6g.large', databaseEngine: 'PostgreSQL', deploymentOption: 'Multi-AZ' },
        '0.4500000000',
      ),
      // The single-AZ product of the same class is another price: never taken for Multi-AZ.
      instanceDocument(
        { instanceType: 'db.r6g.large', databaseEngine: 'PostgreSQL', deploymentOption: 'Single-AZ' },
        '0.2250000000',
      ),
      instanceDocument(
        { instanceType: 'db.r6g.large', databaseEngine: 'MySQL', deploymentOption: 'Multi-AZ' },
        '0.4300000000',
      ),
    ]);
    const r = await refreshPrices(api, wantedPrices([{ region: 'us-east-1', database: instance() }]), TODAY);
    expect(r.table.databaseHours).toEqual({
      'us-east-1|postgres|db.r6g.large|multi-az': { usd: 0.45, unit: 'hour' },
    });
    expect(r.table).toMatchObject({ source: PRICE_LIST_SOURCE, date: TODAY, currency: 'USD' });
    expect(r).toMatchObject({ found: 1, none: [], refused: [] });
    expect(api.asked[0]).toEqual(
      expect.arrayContaining([
        { field: 'regionCode', value: 'us-east-1' },
        { field: 'instanceType', value: 'db.r6g.large' },
        { field: 'databaseEngine', value: 'PostgreSQL' },
        { field: 'deploymentOption', value: 'Multi-AZ' },
      ]),
    );
  });

  it('prices Aurora members single-AZ under the Aurora engine names, Serverless v2 per ACU, never the I/O-Optimized rate', async () => {
    const api = fakePriceList([
      instanceDocument(
        { instanceType: 'db.r7g.large', databaseEngine: 'Aurora PostgreSQL', deploymentOption: 'Single-AZ' },
        '0.2760000000',
      ),
      instanceDocument(
        {
          instanceType: 'db.r7g.large',
          databaseEngine: 'Aurora PostgreSQL',
          deploymentOption: 'Single-AZ',
          usagetype: 'InstanceUsageIOOptimized:db.r7g.large',
        },
        '0.3590000000',
      ),
      productDocument(
        'ServerlessV2',
        { databaseEngine: 'Aurora PostgreSQL', usagetype: 'Aurora:ServerlessV2Usage' },
        '0.1200000000',
        'ACU-Hr',
      ),
      productDocument(
        'ServerlessV2',
        { databaseEngine: 'Aurora PostgreSQL', usagetype: 'Aurora:ServerlessV2IOOptimizedUsage' },
        '0.1560000000',
        'ACU-Hr',
      ),
    ]);
    const db = aurora([
      { identifier: 'w', instanceClass: 'db.r7g.large' },
      { identifier: 'r1', instanceClass: 'db.r7g.large' },
      { identifier: 's', instanceClass: 'db.serverless', serverlessV2: { minAcu: 0.5, maxAcu: 4 } },
    ]);
    const r = await refreshPrices(api, wantedPrices([{ region: 'us-east-1', database: db }]), TODAY);
    expect(r.table.databaseHours).toEqual({
      'us-east-1|aurora-postgresql|db.r7g.large|single-az': { usd: 0.276, unit: 'hour' },
      'us-east-1|aurora-postgresql|db.serverless|single-az': { usd: 0.12, unit: 'acu-hour' },
    });
    // Two members of one class: asked once.
    expect(api.asked).toHaveLength(2);
    expect(api.asked[0]).toContainEqual({ field: 'databaseEngine', value: 'Aurora PostgreSQL' });
    expect(api.asked[0]).toContainEqual({ field: 'deploymentOption', value: 'Single-AZ' });
  });

  it('leaves an absurd or non-positive price out of the table and counts it', async () => {
    const api = fakePriceList([
      instanceDocument(
        { instanceType: 'db.r6g.large', databaseEngine: 'PostgreSQL', deploymentOption: 'Multi-AZ' },
        '4500.0000000000',
      ),
      instanceDocument(
        { instanceType: 'db.t4g.micro', databaseEngine: 'PostgreSQL', deploymentOption: 'Single-AZ' },
        '0.0000000000',
      ),
    ]);
    const r = await refreshPrices(
      api,
      wantedPrices([
        { region: 'us-east-1', database: instance() },
        { region: 'us-east-1', database: instance({ instanceClass: 'db.t4g.micro', multiAz: false }) },
      ]),
      TODAY,
    );
    expect(r.table.databaseHours).toEqual({});
    expect(r.found).toBe(0);
    expect(r.refused.map((x) => x.key)).toEqual([
      'databaseHours|us-east-1|postgres|db.r6g.large|multi-az',
      'databaseHours|us-east-1|postgres|db.t4g.micro|single-az',
    ]);
    expect(r.refused[0]?.reason).toMatch(/absurd/);
    expect(r.refused[1]?.reason).toMatch(/above 0/);
  });

  it('gives a class the API has no product for no price (left out, named), never 0', async () => {
    const api = fakePriceList([]);
    const r = await refreshPrices(
      api,
      wantedPrices([{ region: 'us-east-1', database: instance({ instanceClass: 'db.z9q.huge' }) }]),
      TODAY,
    );
    expect(r.table.databaseHours).toEqual({});
    expect(r.none).toEqual([
      {
        key: 'databaseHours|us-east-1|postgres|db.z9q.huge|multi-az',
        reason: 'the Price List API has no on-demand price for it',
      },
    ]);
  });

  it('takes no price when the API gives two different ones for a key, and none for an engine it cannot name', async () => {
    const api = fakePriceList([
      instanceDocument(
        { instanceType: 'db.m5.large', databaseEngine: 'PostgreSQL', deploymentOption: 'Single-AZ' },
        '0.1780000000',
      ),
      instanceDocument(
        { instanceType: 'db.m5.large', databaseEngine: 'PostgreSQL', deploymentOption: 'Single-AZ' },
        '0.1990000000',
      ),
    ]);
    const r = await refreshPrices(
      api,
      wantedPrices([
        { region: 'us-east-1', database: instance({ instanceClass: 'db.m5.large', multiAz: false }) },
        { region: 'us-east-1', database: instance({ engine: 'oracle-ee' }) },
      ]),
      TODAY,
    );
    expect(r.table.databaseHours).toEqual({});
    expect(r.none.map((n) => n.reason)).toEqual([
      expect.stringMatching(/2 different prices \(0\.178, 0\.199\)/),
      "engine oracle-ee is not mapped to the Price List API's names",
    ]);
  });

  it('prices Multi-AZ gp3 storage and io1 IOPS from the storage products of the engines it maps', async () => {
    const api = fakePriceList([
      productDocument(
        'Database Storage',
        { volumeType: 'General Purpose-GP3', deploymentOption: 'Multi-AZ', databaseEngine: 'PostgreSQL' },
        '0.2300000000',
        'GB-Mo',
      ),
      // SQL Server's storage is priced apart: not taken for a PostgreSQL database's key.
      productDocument(
        'Database Storage',
        { volumeType: 'General Purpose-GP3', deploymentOption: 'Multi-AZ', databaseEngine: 'SQL Server' },
        '0.2540000000',
        'GB-Mo',
      ),
      productDocument(
        'Provisioned IOPS',
        { deploymentOption: 'Single-AZ', databaseEngine: 'Any', usagetype: 'RDS:PIOPS' },
        '0.1000000000',
        'IOPS-Mo',
      ),
    ]);
    const r = await refreshPrices(
      api,
      wantedPrices([
        {
          region: 'us-east-1',
          database: instance({ storage: { allocatedGb: 100, type: 'gp3', iops: 3000 } }),
        },
        {
          region: 'us-east-1',
          database: instance({ multiAz: false, storage: { allocatedGb: 100, type: 'io1', iops: 1000 } }),
        },
      ]),
      TODAY,
    );
    expect(r.table.storage).toEqual({
      'us-east-1|gp3|multi-az': { usd: 0.23, unit: 'gb-month' },
      'us-east-1|io1|iops': { usd: 0.1, unit: 'iops-month' },
    });
    // io1's own GB-month price was asked for and not found: named, not 0.
    expect(r.none.map((n) => n.key)).toContain('storage|us-east-1|io1');
  });
});

describe('recordedDatabase', () => {
  let bucket: ReturnType<typeof memoryBucket>;
  beforeEach(() => {
    bucket = memoryBucket();
  });
  afterEach(() => bucket.mock.restore());

  it("reads the facts of the last succeeded down's pre-state", async () => {
    const env = {
      customer: 'alpha',
      environment: 'dev',
      region: 'us-east-1',
      bucket: 'b',
      bucketRegion: 'us-east-1',
      keyPrefix: 'alpha/dev',
      database: { kind: 'instance' },
    } as unknown as Environment;
    const r: RunRow = {
      customer: 'alpha',
      environment: 'dev',
      action: 'down',
      build: 'b1',
      trigger: 'schedule',
      user: 'schedule:nightly',
      startedAt: '2026-12-05T22:00:00.000Z',
      endedAt: '2026-12-05T22:05:00.000Z',
      outcome: 'succeeded',
      recordKey: 'alpha/dev/history/b1/actions.json',
    };
    bucket.put(indexKey('alpha/dev', r), r);
    bucket.put('alpha/dev/history/b1/pre-state.json', {
      aws_rds: {
        rds_identifier: 'alpha-dev-db',
        rds_exists: true,
        rds_state: 'available',
        rds_engine: 'postgres',
        rds_instance_class: 'db.r6g.large',
        rds_multi_az: true,
      },
    });
    const store = new S3StateStore(new S3Client({ region: 'us-east-1' }), 'b');
    const got = await recordedDatabase(store, env, new Date('2026-12-06T06:00:00.000Z'));
    expect(got.exclusions).toEqual([]);
    expect(got.database).toMatchObject({ engine: 'postgres', instanceClass: 'db.r6g.large', multiAz: true });
  });
});

const refreshed = (): PriceTable => ({
  source: PRICE_LIST_SOURCE,
  date: '2026-12-06',
  currency: 'USD',
  databaseHours: {
    'us-east-1|postgres|db.t4g.micro|single-az': { usd: 0.017, unit: 'hour' },
    'us-east-1|postgres|db.t4g.small|single-az': { usd: 0.033, unit: 'hour' },
  },
  storage: {},
  kubernetes: null,
  tool: null,
});

describe('layerPrices', () => {
  it('takes each price from the override, else the refreshed table, else the shipped one, and says where from', () => {
    const shipped = defaultPriceTable();
    const override = parsePriceOverride(
      {
        source: 'negotiated 2026',
        date: '2026-11-30',
        databaseHours: { 'us-east-1|postgres|db.t4g.small|single-az': { usd: 0.02, unit: 'hour' } },
      },
      'rates.json',
    );
    const t = layerPrices(shipped, refreshed(), override);
    expect(t.databaseHours['us-east-1|postgres|db.t4g.small|single-az']).toEqual({ usd: 0.02, unit: 'hour' });
    expect(t.databaseHours['us-east-1|postgres|db.t4g.micro|single-az']).toEqual({
      usd: 0.017,
      unit: 'hour',
    });
    expect(t.databaseHours['us-east-1|postgres|db.t4g.medium|single-az']).toEqual(
      shipped.databaseHours['us-east-1|postgres|db.t4g.medium|single-az'],
    );
    expect(t.origins?.['databaseHours|us-east-1|postgres|db.t4g.small|single-az']).toEqual({
      source: 'negotiated 2026',
      date: '2026-11-30',
    });
    expect(t.origins?.['databaseHours|us-east-1|postgres|db.t4g.micro|single-az']).toEqual({
      source: PRICE_LIST_SOURCE,
      date: '2026-12-06',
    });
    expect(t.origins?.['databaseHours|us-east-1|postgres|db.t4g.medium|single-az']).toEqual({
      source: 'prices/default.json',
      date: shipped.date,
    });
    // The tool's own prices are not refreshed: the shipped ones stay.
    expect(t.tool).toEqual(shipped.tool);
    expect(t).toMatchObject({ source: PRICE_LIST_SOURCE, overrides: 'negotiated 2026 (2026-11-30)' });
  });
});

describe('the report with a refreshed table in the bucket', () => {
  const BUCKET = 'customer-infra-manager';
  const env = {
    customer: 'alpha',
    environment: 'dev',
    region: 'us-east-1',
    bucket: BUCKET,
    bucketRegion: 'us-east-1',
    keyPrefix: 'alpha/dev',
    namespace: 'alpha-dev',
    database: { kind: 'instance' },
  } as unknown as Environment;
  const now = new Date('2026-12-06T06:00:00.000Z');
  let bucket: ReturnType<typeof memoryBucket>;
  let store: S3StateStore;
  beforeEach(() => {
    bucket = memoryBucket();
    store = new S3StateStore(new S3Client({ region: 'us-east-1' }), BUCKET);
    const down: RunRow = {
      customer: 'alpha',
      environment: 'dev',
      action: 'down',
      build: 'b1',
      trigger: 'schedule',
      user: 'schedule:nightly',
      startedAt: '2026-12-05T20:00:00.000Z',
      endedAt: '2026-12-05T20:00:00.000Z',
      outcome: 'succeeded',
      recordKey: 'alpha/dev/history/b1/actions.json',
    };
    bucket.put(indexKey('alpha/dev', down), down);
    bucket.put('alpha/dev/history/b1/pre-state.json', {
      aws_rds: {
        rds_identifier: 'alpha-dev-db',
        rds_exists: true,
        rds_state: 'available',
        rds_engine: 'postgres',
        rds_instance_class: 'db.t4g.micro',
        rds_multi_az: false,
      },
    });
  });
  afterEach(() => bucket.mock.restore());

  const publish = () =>
    publishReport({
      environments: [env],
      store: () => store,
      files: () => store,
      now,
      prices: defaultPriceTable(),
    });
  const model = () =>
    bucket.json(REPORT_OBJECTS.json.key) as {
      savings: {
        estimate: {
          databasesUsd: number;
          prices: { source: string; used?: { key: string; source: string }[] };
        };
      };
      exclusions: { key: string; reason: string }[];
    };

  it('prices the database from the refreshed table, and the page says its source and date', async () => {
    await writeRefreshedPrices(store, refreshed());
    await publish();
    const m = model();
    // 10 hours asleep (20:00 to 06:00) × the refreshed 0.017, not the shipped 0.016.
    expect(m.savings.estimate.databasesUsd).toBeCloseTo(0.17, 10);
    expect(m.savings.estimate.prices.used).toEqual([
      expect.objectContaining({
        key: 'databaseHours|us-east-1|postgres|db.t4g.micro|single-az',
        source: PRICE_LIST_SOURCE,
      }),
    ]);
    const page = bucket.objects.get(REPORT_OBJECTS.page.key)?.body ?? '';
    expect(page).toContain('Prices: AWS Price List API, taken on');
    expect(page).toContain('where it has none: <code>prices/default.json');
    // Each price used, with its table's source and date.
    expect(page).toContain('<caption>Prices used, and where each came from</caption>');
    expect(page).toMatch(
      /<code>databaseHours\|us-east-1\|postgres\|db\.t4g\.micro\|single-az<\/code>[\s\S]*?AWS Price List API, <time datetime="2026-12-06">/,
    );
    expect(m.exclusions).toEqual([]);
  });

  it('uses the shipped table and shows an exclusion naming the key when report/prices.json is corrupt', async () => {
    bucket.put(REFRESHED_PRICES_KEY, { source: 'AWS Price List API', date: 'yesterday' });
    await publish();
    const m = model();
    expect(m.savings.estimate.databasesUsd).toBeCloseTo(0.16, 10);
    expect(m.exclusions).toEqual([
      { key: REFRESHED_PRICES_KEY, reason: expect.stringMatching(/invalid.*the shipped prices were used$/) },
    ]);
    const page = bucket.objects.get(REPORT_OBJECTS.page.key)?.body ?? '';
    expect(page).toContain(`<code>${REFRESHED_PRICES_KEY}</code>`);
  });

  it('refuses a report/prices.json over its size bound without parsing it', async () => {
    const big = { ...refreshed(), source: 'x'.repeat(300 * 1024) };
    bucket.put(REFRESHED_PRICES_KEY, big);
    const got = await readRefreshedPrices(store);
    expect(got.table).toBeNull();
    expect(got.exclusion?.key).toBe(REFRESHED_PRICES_KEY);
    expect(got.exclusion?.reason).toMatch(/the shipped prices were used$/);
  });

  it('reads no table when none was written', async () => {
    expect(await readRefreshedPrices(store)).toEqual({ table: null });
  });
});
