import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import type { Environment } from '#core/config/schema';
import { indexKey } from '#core/records/run-index';
import { SAVINGS_CSV_HEADER } from '#core/report/csv';
import type { RunRow } from '#core/report/model';
import { reportPrices } from '#core/report/prices';
import { publishReport, REPORT_OBJECTS, REPORT_PAGE_KEY } from '#core/report/publish';
import { memoryBucket } from '../../../support/memory-s3.ts';

const BUCKET = 'customer-infra-manager';
const envOf = (customer: string, environment: string, bucket = BUCKET) =>
  ({
    customer,
    environment,
    region: 'us-east-1',
    bucket,
    bucketRegion: 'us-east-1',
    keyPrefix: `${customer}/${environment}`,
    namespace: `${customer}-${environment}`,
  }) as Environment;
const now = new Date('2026-12-06T06:00:00.000Z');
const row = (customer: string, build: string, startedAt: string, endedAt: string): RunRow => ({
  customer,
  environment: 'dev',
  action: 'down',
  build,
  trigger: 'schedule',
  user: 'schedule:nightly',
  startedAt,
  endedAt,
  outcome: 'succeeded',
  recordKey: `${customer}/dev/history/${build}/actions.json`,
});

let bucket: ReturnType<typeof memoryBucket>;
let store: S3StateStore;
beforeEach(() => {
  bucket = memoryBucket();
  store = new S3StateStore(new S3Client({ region: 'us-east-1' }), BUCKET);
});
afterEach(() => bucket.mock.restore());

describe('publishReport', () => {
  it('writes index.html, report.json and savings.csv under report/ built from the run index', async () => {
    const r = row('alpha', 'b1', '2026-12-05T22:00:00.000Z', '2026-12-05T22:05:00.000Z');
    bucket.put(indexKey('alpha/dev', r), r);
    const published = await publishReport({
      environments: [envOf('alpha', 'dev')],
      store: () => store,
      files: () => store,
      now,
      prices: reportPrices(),
    });
    expect(published).toEqual([
      {
        bucket: BUCKET,
        environments: 1,
        exclusions: 0,
        keys: ['report/report.json', 'report/savings.csv', 'report/index.html'],
      },
    ]);
    const json = bucket.json(REPORT_OBJECTS.json.key) as { runs?: unknown[] };
    expect(JSON.stringify(json)).toContain('"b1"');
    expect(bucket.objects.get(REPORT_PAGE_KEY)?.body).toMatch(/^<!doctype html>/i);
    expect(bucket.objects.get(REPORT_OBJECTS.csv.key)?.body.split(/\r?\n/)[0]).toBe(
      SAVINGS_CSV_HEADER.join(','),
    );
    // Only report/ was written: the records and the index are read, never changed; past the
    // three files, only the seals of the days no run can reach any more (report/index/{day}/).
    const written = bucket.writes.map((w) => w.key).sort();
    expect(written.filter((k) => !k.startsWith('report/index/'))).toEqual(
      ['report/index.html', 'report/report.json', 'report/savings.csv'].sort(),
    );
    expect(
      written
        .filter((k) => k.startsWith('report/index/'))
        .every((k) => /^report\/index\/\d{4}-\d\d-\d\d\/[0-9a-f]{16}\.json$/.test(k)),
    ).toBe(true);
  });

  it('writes the same report again on a repeated delivery (retry-safe: overwritten, no condition)', async () => {
    const input = {
      environments: [envOf('alpha', 'dev')],
      store: () => store,
      files: () => store,
      now,
      prices: reportPrices(),
    };
    await publishReport(input);
    const first = bucket.objects.get(REPORT_PAGE_KEY)?.body;
    await publishReport(input);
    expect(bucket.objects.get(REPORT_PAGE_KEY)?.body).toBe(first);
    expect(bucket.writes.filter((w) => w.key === REPORT_PAGE_KEY)).toHaveLength(2);
  });

  it('gives each state bucket the report of its own environments only', async () => {
    const written: { bucket: string; key: string; body: string }[] = [];
    const files = (name: string) => ({
      bucket: name,
      putText: async (key: string, body: string) => {
        written.push({ bucket: name, key, body });
      },
      getText: async () => null,
    });
    const published = await publishReport({
      environments: [envOf('alpha', 'dev'), envOf('beta', 'dev', 'other-bucket'), envOf('gamma', 'dev')],
      store: () => store,
      files,
      now,
      prices: reportPrices(),
    });
    expect(published.map((p) => [p.bucket, p.environments])).toEqual([
      [BUCKET, 2],
      ['other-bucket', 1],
    ]);
    const otherJson = written.find((w) => w.bucket === 'other-bucket' && w.key === 'report/report.json');
    expect(otherJson?.body).toContain('beta');
    expect(otherJson?.body).not.toContain('gamma');
    // The page is written last: its links never point at files older than it.
    expect(written.filter((w) => w.bucket === BUCKET).map((w) => w.key)).toEqual([
      'report/report.json',
      'report/savings.csv',
      'report/index.html',
    ]);
  });
});
