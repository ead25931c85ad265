// Owns the deployed report (issue 18): after each fleet run, the report of every configured
// environment is rebuilt from the run index and written to the private state bucket the
// environments record into, under report/. Each bucket gets the report of its own
// environments (a function may only read the buckets it is granted). Retry-safe: the three
// objects are rebuilt from the records and overwritten whole, so a second delivery of the
// same event writes the same report again (with a later "now").
import { listEnvironments, resolveEnvironment } from '../config/catalog.ts';
import type { Environment } from '../config/schema.ts';
import type { Deps } from '../contracts.ts';
import type { ReportFiles } from '../gateways/report-files.ts';
import type { StateStore } from '../gateways/store.ts';
import { buildReport } from './build.ts';
import { renderSavingsCsv } from './csv.ts';
import { SEALS_PREFIX } from './day-seals.ts';
import type { PriceTable } from './model.ts';
import { renderReportJson, renderReportPage } from './page.ts';
import { REFRESHED_PRICES_KEY, readRefreshedPrices } from './price-refresh.ts';
import { defaultPriceTable, layerPrices, type PriceOverride } from './prices.ts';

/** Where the deployed report lives in a state bucket (the function may write only here). */
export const REPORT_PREFIX = 'report/';
/** What the report function reads back of report/ (IAM: infra/iam/scope.ts): its seals and the refreshed prices. */
export const REPORT_READS = [`${SEALS_PREFIX}*`, REFRESHED_PRICES_KEY] as const;
/** The deployed report's page: what the CLI signs a link to. */
export const REPORT_PAGE_KEY = `${REPORT_PREFIX}index.html`;
/** The deployed report's days, as `cim report`'s default. */
export const DEPLOYED_REPORT_DAYS = 30;

export const REPORT_OBJECTS = {
  page: { key: REPORT_PAGE_KEY, type: 'text/html; charset=utf-8' },
  json: { key: `${REPORT_PREFIX}report.json`, type: 'application/json' },
  csv: { key: `${REPORT_PREFIX}savings.csv`, type: 'text/csv; charset=utf-8' },
} as const;

export interface PublishInput {
  environments: readonly Environment[];
  store(env: Environment): StateStore;
  files(bucket: string, region: string): ReportFiles;
  now: Date;
  /**
   * The table under everything: the shipped one. Each bucket's refreshed table
   * (report/prices.json, `cim prices refresh`) is layered over it when present and valid,
   * and `override` over both.
   */
  prices: PriceTable;
  override?: PriceOverride;
  days?: number;
}

export interface Published {
  bucket: string;
  environments: number;
  exclusions: number;
  keys: string[];
}

/** Builds and writes one report per state bucket; returns what was written where. */
export async function publishReport(input: PublishInput): Promise<Published[]> {
  const byBucket = new Map<string, Environment[]>();
  for (const env of input.environments) {
    const k = `${env.bucket}|${env.bucketRegion}`;
    byBucket.set(k, [...(byBucket.get(k) ?? []), env]);
  }
  const out: Published[] = [];
  for (const envs of byBucket.values()) {
    const first = envs[0] as Environment;
    const files = input.files(first.bucket, first.bucketRegion);
    const refreshed = await readRefreshedPrices(files);
    const model = await buildReport({
      environments: envs.map((env) => ({ env, store: input.store(env) })),
      days: input.days ?? DEPLOYED_REPORT_DAYS,
      now: input.now,
      prices: layerPrices(input.prices, refreshed.table, input.override),
    });
    // A refreshed table that could not be used is shown and counted like any record left out.
    if (refreshed.exclusion) model.exclusions.push(refreshed.exclusion);
    // The page last: a reader of index.html then finds the JSON and CSV it links to.
    await files.putText(REPORT_OBJECTS.json.key, renderReportJson(model), REPORT_OBJECTS.json.type);
    await files.putText(REPORT_OBJECTS.csv.key, renderSavingsCsv(model), REPORT_OBJECTS.csv.type);
    await files.putText(REPORT_OBJECTS.page.key, renderReportPage(model), REPORT_OBJECTS.page.type);
    out.push({
      bucket: first.bucket,
      environments: envs.length,
      exclusions: model.exclusions.length,
      keys: [REPORT_OBJECTS.json.key, REPORT_OBJECTS.csv.key, REPORT_OBJECTS.page.key],
    });
  }
  return out;
}

/**
 * The function's work: the report of every environment of the deployed configuration, at
 * the bucket's refreshed prices where it has them, else the shipped ones. The triggering event
 * is not read: whatever run ended, the report is rebuilt from the records, so a late or
 * repeated event is harmless.
 */
export async function publishDeployedReport(
  deps: Pick<Deps, 'config' | 'configSource' | 'store' | 'now' | 'log'>,
  files: PublishInput['files'],
): Promise<Published[]> {
  const environments = listEnvironments(deps.config).map((key) => {
    const [customer = '', environment = ''] = key.split('/');
    return resolveEnvironment(deps.config, customer, environment, deps.configSource);
  });
  const published = await publishReport({
    environments,
    store: (env) => deps.store(env),
    files,
    now: deps.now(),
    prices: defaultPriceTable(),
  });
  for (const p of published) deps.log.info('report published', { ...p });
  return published;
}
