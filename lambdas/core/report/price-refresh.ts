// Owns `cim prices refresh` (issue 18): the on-demand prices of the databases the report
// prices, asked of the AWS Price List API and stored in each state bucket as
// report/prices.json, which the report then prefers to the shipped table (prices.ts layers
// them). What is asked for comes from the environments' recorded facts (the pre-state of each
// one's last succeeded down): exactly the region, engine, class, deployment and storage the
// report multiplies hours by, nothing guessed from the configuration (which does not say a
// database's class). The API is untrusted like any input: a price that is not a number, not
// above 0 or absurd is left out and counted, never written; a class the API has no single
// price for is left out (the report says "no price"), never written as 0.
import * as z from 'zod';
import type { Environment } from '../config/schema.ts';
import { errorMessage } from '../errors.ts';
import type { PriceFilter, PriceList } from '../gateways/price-list.ts';
import type { ReportFiles } from '../gateways/report-files.ts';
import { MAX_RECORD_BYTES, type StateStore } from '../gateways/store.ts';
import { UNKNOWN_CLASS } from '../records/report-facts.ts';
import { daysBetween, factsFromPreState, readIndexRows } from './build.ts';
import type { DatabaseFacts, Exclusion, Price, PriceTable } from './model.ts';
import { parsePriceTable, priceProblem } from './prices.ts';

/** Where a refreshed table is kept in a state bucket (the report function may read report/*). */
export const REFRESHED_PRICES_KEY = 'report/prices.json';
/** A refreshed table is small (a few hundred prices); more than this is not one. */
export const MAX_PRICES_BYTES = 256 * 1024;
/** The source a refreshed table names. */
export const PRICE_LIST_SOURCE = 'AWS Price List API';
/** How far back the facts are looked for: the report's default range. */
export const FACT_DAYS = 30;

const SERVICE = 'AmazonRDS';

/** Our engine names (RDS's `Engine`) → the Price List API's `databaseEngine`. */
export const API_ENGINES: Readonly<Record<string, string>> = {
  postgres: 'PostgreSQL',
  mysql: 'MySQL',
  mariadb: 'MariaDB',
  'aurora-postgresql': 'Aurora PostgreSQL',
  'aurora-mysql': 'Aurora MySQL',
};
/**
 * Our storage types (RDS's `StorageType`) → the API's `volumeType`. io2 and gp3's extra IOPS
 * are not mapped: their product names were not confirmed, so they stay "no price".
 */
export const API_VOLUME_TYPES: Readonly<Record<string, string>> = {
  gp2: 'General Purpose',
  gp3: 'General Purpose-GP3',
  io1: 'Provisioned IOPS',
  standard: 'Magnetic',
};
/** Storage priced for any of these engines is the storage of the engines we map (not SQL Server's). */
const STORAGE_ENGINES = new Set(['Any', 'PostgreSQL', 'MySQL', 'MariaDB']);

type Deployment = 'single-az' | 'multi-az';
const API_DEPLOYMENT: Record<Deployment, string> = { 'single-az': 'Single-AZ', 'multi-az': 'Multi-AZ' };

/** One price the report needs: where it goes in the table, and how to ask for it. */
export type WantedPrice =
  | {
      section: 'databaseHours';
      key: string;
      region: string;
      engine: string;
      instanceClass: string;
      deployment: Deployment;
    }
  | {
      section: 'storage';
      key: string;
      region: string;
      storageType: string;
      deployment: Deployment;
      iops: boolean;
    };

/** The prices the report needs for these databases (each once). */
export function wantedPrices(
  dbs: readonly { region: string; database: DatabaseFacts | null }[],
): WantedPrice[] {
  const out = new Map<string, WantedPrice>();
  const add = (w: WantedPrice) => out.set(`${w.section}|${w.key}`, w);
  for (const { region, database: db } of dbs) {
    if (!db || db.engine === null) continue;
    const engine = db.engine;
    const instance = (instanceClass: string, deployment: Deployment) =>
      add({
        section: 'databaseHours',
        key: `${region}|${engine}|${instanceClass}|${deployment}`,
        region,
        engine,
        instanceClass,
        deployment,
      });
    if (db.kind === 'instance') {
      const deployment: Deployment = db.multiAz ? 'multi-az' : 'single-az';
      if (db.instanceClass !== null) instance(db.instanceClass, deployment);
      const s = db.storage;
      if (s) {
        add({
          section: 'storage',
          key: deployment === 'multi-az' ? `${region}|${s.type}|multi-az` : `${region}|${s.type}`,
          region,
          storageType: s.type,
          deployment,
          iops: false,
        });
        // As savings.ts: only io1/io2 bill their provisioned IOPS apart.
        if (s.type.startsWith('io') && s.iops !== null && s.iops > 0)
          add({
            section: 'storage',
            key: `${region}|${s.type}|iops`,
            region,
            storageType: s.type,
            deployment: 'single-az',
            iops: true,
          });
      }
    } else
      for (const m of db.members) {
        if (m.serverlessV2) instance('db.serverless', 'single-az');
        else if (m.instanceClass !== UNKNOWN_CLASS) instance(m.instanceClass, 'single-az');
      }
  }
  return [...out.values()];
}

/** The part of a product document the refresh reads (the rest is ignored). */
const ProductDocument = z.object({
  product: z.object({ attributes: z.record(z.string(), z.unknown()) }),
  terms: z.object({
    OnDemand: z
      .record(
        z.string(),
        z.object({
          priceDimensions: z.record(
            z.string(),
            z.object({
              unit: z.string(),
              pricePerUnit: z.record(z.string(), z.unknown()),
              beginRange: z.string().optional(),
            }),
          ),
        }),
      )
      .optional(),
  }),
});

/** One on-demand price of a product: its attributes, the API's unit and its USD figure. */
interface Offer {
  attributes: Record<string, unknown>;
  unit: string;
  usd: unknown;
}

function offersOf(docs: readonly string[]): { offers: Offer[]; unreadable: number } {
  const offers: Offer[] = [];
  let unreadable = 0;
  for (const text of docs) {
    let parsed: z.ZodSafeParseResult<z.infer<typeof ProductDocument>>;
    try {
      parsed = ProductDocument.safeParse(JSON.parse(text));
    } catch {
      unreadable += 1;
      continue;
    }
    if (!parsed.success) {
      unreadable += 1;
      continue;
    }
    for (const term of Object.values(parsed.data.terms.OnDemand ?? {}))
      for (const dim of Object.values(term.priceDimensions)) {
        // A tiered price's first tier is the one a stopped database's storage is billed at.
        if (dim.beginRange !== undefined && dim.beginRange !== '0') continue;
        const raw = dim.pricePerUnit.USD;
        // The API writes prices as strings ("0.2720000000"); anything else is kept as is and
        // refused by the validation below, never coerced.
        const usd = typeof raw === 'string' && /^\s*[-+0-9.eE]+\s*$/.test(raw) ? Number(raw) : raw;
        offers.push({ attributes: parsed.data.product.attributes, unit: dim.unit, usd });
      }
  }
  return { offers, unreadable };
}

const attr = (o: Offer, name: string) =>
  typeof o.attributes[name] === 'string' ? o.attributes[name] : undefined;

/** How one wanted price is asked for: the filters, which offers are it, and its units. */
function query(w: WantedPrice):
  | {
      filters: PriceFilter[];
      keep: (o: Offer) => boolean;
      apiUnit: string;
      unit: Price['unit'];
    }
  | { unmapped: string } {
  const region = { field: 'regionCode', value: w.region };
  const inRegion = (o: Offer) => {
    const t = attr(o, 'locationType');
    return t === undefined || t === 'AWS Region';
  };
  if (w.section === 'databaseHours') {
    const engine = API_ENGINES[w.engine];
    if (!engine) return { unmapped: `engine ${w.engine} is not mapped to the Price List API's names` };
    const engineFilter = { field: 'databaseEngine', value: engine };
    if (w.instanceClass === 'db.serverless')
      return {
        filters: [{ field: 'productFamily', value: 'ServerlessV2' }, region, engineFilter],
        // Standard Aurora storage; not the I/O-Optimized rate (…ServerlessV2IOOptimizedUsage).
        keep: (o) => /(^|-)Aurora:ServerlessV2Usage$/.test(attr(o, 'usagetype') ?? ''),
        apiUnit: 'ACU-Hr',
        unit: 'acu-hour',
      };
    return {
      filters: [
        { field: 'productFamily', value: 'Database Instance' },
        region,
        { field: 'instanceType', value: w.instanceClass },
        engineFilter,
        { field: 'deploymentOption', value: API_DEPLOYMENT[w.deployment] },
      ],
      // Aurora I/O-Optimized instances are the same class at another price: not this one.
      keep: (o) => inRegion(o) && !/IOOptimized/i.test(attr(o, 'usagetype') ?? ''),
      apiUnit: 'Hrs',
      unit: 'hour',
    };
  }
  const volumeType = API_VOLUME_TYPES[w.storageType];
  if (!volumeType)
    return { unmapped: `storage type ${w.storageType} is not mapped to the Price List API's names` };
  const engineOk = (o: Offer) => {
    const e = attr(o, 'databaseEngine');
    return e === undefined || STORAGE_ENGINES.has(e);
  };
  if (w.iops) {
    if (w.storageType !== 'io1') return { unmapped: `provisioned IOPS of ${w.storageType} are not mapped` };
    return {
      filters: [
        { field: 'productFamily', value: 'Provisioned IOPS' },
        region,
        { field: 'deploymentOption', value: API_DEPLOYMENT[w.deployment] },
      ],
      keep: (o) => inRegion(o) && engineOk(o) && /(^|-)RDS:PIOPS$/.test(attr(o, 'usagetype') ?? ''),
      apiUnit: 'IOPS-Mo',
      unit: 'iops-month',
    };
  }
  return {
    filters: [
      { field: 'productFamily', value: 'Database Storage' },
      region,
      { field: 'volumeType', value: volumeType },
      { field: 'deploymentOption', value: API_DEPLOYMENT[w.deployment] },
    ],
    keep: (o) => inRegion(o) && engineOk(o),
    apiUnit: 'GB-Mo',
    unit: 'gb-month',
  };
}

export interface PriceRefresh {
  table: PriceTable;
  /** Prices written. */
  found: number;
  /** Wanted prices the API gave no single price for (no product, unmapped, ambiguous): "no price". */
  none: { key: string; reason: string }[];
  /** Prices the API gave that the validation refused (not above 0, absurd): left out, counted. */
  refused: { key: string; reason: string }[];
  /** Product documents that were not JSON or not of the expected shape: ignored, counted. */
  unreadable: number;
}

/** Asks the Price List API for each wanted price; builds the dated table of those found. */
export async function refreshPrices(
  api: PriceList,
  wanted: readonly WantedPrice[],
  today: string,
): Promise<PriceRefresh> {
  const table: PriceTable = {
    source: PRICE_LIST_SOURCE,
    date: today,
    currency: 'USD',
    databaseHours: {},
    storage: {},
    kubernetes: null,
    tool: null,
  };
  const none: PriceRefresh['none'] = [];
  const refused: PriceRefresh['refused'] = [];
  let unreadable = 0;
  for (const w of wanted) {
    const name = `${w.section}|${w.key}`;
    const q = query(w);
    if ('unmapped' in q) {
      none.push({ key: name, reason: q.unmapped });
      continue;
    }
    const got = offersOf(await api.products(SERVICE, q.filters));
    unreadable += got.unreadable;
    const offers = got.offers.filter((o) => q.keep(o) && o.unit === q.apiUnit);
    const distinct = [...new Map(offers.map((o) => [JSON.stringify(o.usd), o.usd])).values()];
    if (distinct.length === 0) {
      none.push({ key: name, reason: 'the Price List API has no on-demand price for it' });
      continue;
    }
    if (distinct.length > 1) {
      none.push({
        key: name,
        reason: `the Price List API gives ${distinct.length} different prices (${distinct.map(String).join(', ')}): none is taken`,
      });
      continue;
    }
    const usd = distinct[0];
    const problem = priceProblem(usd, q.unit);
    if (problem !== null) {
      refused.push({ key: name, reason: problem });
      continue;
    }
    table[w.section][w.key] = { usd: usd as number, unit: q.unit };
  }
  // The same rules as every table: what is written here is read back by parsePriceTable.
  const checked = parsePriceTable(table, 'the refreshed price table');
  return {
    table: checked,
    found: Object.keys(checked.databaseHours).length + Object.keys(checked.storage).length,
    none,
    refused,
    unreadable,
  };
}

/**
 * The database facts of one environment: the pre-state of its last succeeded down in the last
 * `FACT_DAYS` days (read as the report reads it). Null when none is recorded; a record that
 * cannot be read is an exclusion.
 */
export async function recordedDatabase(
  store: StateStore,
  env: Environment,
  now: Date,
): Promise<{ database: DatabaseFacts | null; exclusions: Exclusion[] }> {
  const days = daysBetween(new Date(now.getTime() - FACT_DAYS * 86_400_000), now);
  const { rows, exclusions } = await readIndexRows({ env, store }, days, now);
  const lastDown = [...rows].reverse().find((r) => r.action === 'down' && r.outcome === 'succeeded');
  if (!lastDown) return { database: null, exclusions };
  const key = `${env.keyPrefix}/history/${lastDown.build}/pre-state.json`;
  try {
    const pre = await store.getJson(key, { maxBytes: MAX_RECORD_BYTES });
    if (!pre) return { database: null, exclusions };
    return { database: factsFromPreState(pre.json, key, env).database, exclusions };
  } catch (err) {
    return { database: null, exclusions: [...exclusions, { key, reason: errorMessage(err) }] };
  }
}

/**
 * The refreshed table of one state bucket, for the report: null when none was written; when
 * it cannot be read or is invalid, null with an exclusion naming the key (the shipped table is
 * used instead: a bad refresh must not take the report down, nor price it wrongly).
 */
export async function readRefreshedPrices(
  files: ReportFiles,
): Promise<{ table: PriceTable | null; exclusion?: Exclusion }> {
  const where = `s3://${files.bucket}/${REFRESHED_PRICES_KEY}`;
  try {
    const text = await files.getText(REFRESHED_PRICES_KEY, MAX_PRICES_BYTES);
    if (text === null) return { table: null };
    return { table: parsePriceTable(text, where) };
  } catch (err) {
    return {
      table: null,
      exclusion: { key: REFRESHED_PRICES_KEY, reason: `${errorMessage(err)}; the shipped prices were used` },
    };
  }
}

/**
 * The table a report over several state buckets uses: the newest of theirs (a refresh writes
 * the same table to every bucket of its selection). Not merged: a merged table would show
 * older prices under the newest one's date.
 */
export function newestRefreshed(tables: readonly PriceTable[]): PriceTable | null {
  return [...tables].sort((a, b) => a.date.localeCompare(b.date)).at(-1) ?? null;
}

/** Writes a refreshed table (a normal put: it replaces the previous one; the bucket is versioned). */
export async function writeRefreshedPrices(files: ReportFiles, table: PriceTable): Promise<string> {
  await files.putText(REFRESHED_PRICES_KEY, `${JSON.stringify(table, null, 2)}\n`, 'application/json');
  return `s3://${files.bucket}/${REFRESHED_PRICES_KEY}`;
}
