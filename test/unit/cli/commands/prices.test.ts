// `cim prices refresh` at the command line: the prices of the selection's recorded databases
// asked of the Price List API (a fake one here), written to the state bucket as
// report/prices.json, which `cim report` then uses; --dry-run prints the table and writes
// nothing; usage errors exit 64 before any request.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { prices } from '#cli/commands/prices';
import { report } from '#cli/commands/report';
import { ExitCode } from '#cli/exit-codes';
import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { indexKey } from '#core/records/run-index';
import type { ReportModel, RunRow } from '#core/report/model';
import { REFRESHED_PRICES_KEY } from '#core/report/price-refresh';
import { capture } from '../../../support/capture.ts';
import { fakePriceList, instanceDocument } from '../../../support/price-list.ts';
import { makeWorld, type World } from '../../../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
const CONFIG = ['--config', 'test/fixtures/environments.yaml'];
const NOW = new Date('2026-12-06T06:00:00.000Z');
let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
});

let w: World;
beforeEach(() => {
  w = makeWorld();
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
    recordKey: `${P}/history/b1/actions.json`,
  };
  w.bucket.put(indexKey(P, down), down);
  w.bucket.put(`${P}/history/b1/pre-state.json`, {
    aws_rds: {
      rds_identifier: 'alpha-dev-db',
      rds_exists: true,
      rds_state: 'available',
      rds_engine: 'postgres',
      rds_instance_class: 'db.r6g.large',
      rds_multi_az: true,
    },
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  w.restore();
});

const api = () =>
  fakePriceList([
    instanceDocument(
      { instanceType: 'db.r6g.large', databaseEngine: 'PostgreSQL', deploymentOption: 'Multi-AZ' },
      '0.4500000000',
    ),
  ]);
const deps = {
  priceList: api,
  store: (env: { bucket: string; bucketRegion: string }) =>
    new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket),
  now: () => NOW,
};
const inv = (dryRun: boolean, json = false) => ({
  command: 'prices' as const,
  configPath: 'test/fixtures/environments.yaml',
  json,
  select: 'alpha/dev',
  dryRun,
});

describe('cim prices refresh', () => {
  it('--dry-run prints the table it would write and writes nothing', async () => {
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await prices(inv(true), deps)).toBe(ExitCode.Done);
    expect(w.bucket.writes.length).toBe(writes);
    expect(w.bucket.keys()).not.toContain(REFRESHED_PRICES_KEY);
    expect(io.out()).toContain('1 price(s) found for 1 recorded database(s)');
    expect(io.out()).toContain('dry run: nothing written');
    expect(io.out()).toContain('"us-east-1|postgres|db.r6g.large|multi-az"');
  });

  it('writes report/prices.json, says where, and cim report then prices from it', async () => {
    const io = capture();
    expect(await prices(inv(false, true), deps)).toBe(ExitCode.Done);
    const printed = JSON.parse(io.out());
    expect(printed).toMatchObject({ found: 1, none: [], refused: [], dryRun: false });
    expect(printed.written).toEqual([`s3://customer-infra-manager/${REFRESHED_PRICES_KEY}`]);
    expect(w.bucket.json(REFRESHED_PRICES_KEY)).toMatchObject({
      source: 'AWS Price List API',
      date: '2026-12-06',
      databaseHours: { 'us-east-1|postgres|db.r6g.large|multi-az': { usd: 0.45, unit: 'hour' } },
    });

    const out = mkdtempSync(join(tmpdir(), 'cim-prices-'));
    expect(
      await report(
        {
          command: 'report',
          configPath: 'test/fixtures/environments.yaml',
          json: true,
          select: 'alpha/dev',
          days: 7,
          outDir: out,
          pricesFile: undefined,
          serve: false,
          port: 0,
          backfill: false,
          url: false,
        },
        () => NOW,
      ),
    ).toBe(ExitCode.Done);
    const model = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel;
    // 10 hours asleep × 0.45: the shipped table has no price for this class at all.
    expect(model.savings.estimate.databasesUsd).toBeCloseTo(4.5, 10);
    expect(model.savings.estimate.prices.source).toBe('AWS Price List API');
    expect(model.savings.estimate.unpriced.count).toBe(0);
  });

  it('refuses a missing or unknown subcommand and --select with --all (exit 64) before any request', async () => {
    const io = capture();
    expect(await main(['prices', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(await main(['prices', 'fetch', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(await main(['prices', 'refresh', '--all', '--select', 'a/b', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(await main(['prices', 'refresh', '--days', '3', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(/unknown prices subcommand "fetch"/);
    expect(w.bucket.mock.calls().length).toBe(0);
  });
});
