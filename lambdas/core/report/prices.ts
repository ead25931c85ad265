// Owns the price tables the savings estimate is priced with: the dated table shipped with the
// project (prices/default.json), and an override file of negotiated rates that replaces the
// prices it names. Bad input is refused with an error naming the entry, never half-used: a
// price the estimate cannot trust would make every total on the page wrong without a sign.
import * as z from 'zod';
import { CimError, ErrorNames } from '../errors.ts';
import type { Price, PriceOrigin, PriceTable } from './model.ts';
import shipped from './prices/default.json' with { type: 'json' };

/**
 * The most a price of each unit may be before it reads as a typo (a monthly price typed as
 * hourly, cents as dollars): the largest RDS instance classes cost tens of dollars an hour,
 * storage and IOPS cents a month.
 */
const CEILING = { hour: 1_000, 'acu-hour': 10, 'gb-month': 10, 'iops-month': 10 } as const;

const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d+';
const NAME = '[a-z0-9]+(?:-[a-z0-9]+)*';
/** `${region}|${engine}|${instanceClass}|${deployment}`, e.g. us-east-1|postgres|db.t3.micro|single-az. */
const DATABASE_KEY = new RegExp(
  `^${REGION}\\|${NAME}\\|db\\.[a-z0-9]+(?:\\.[a-z0-9]+)?\\|(?:single-az|multi-az)$`,
);
/** `${region}|${storageType}` or `…|multi-az` (gb-month) or `…|iops` (iops-month). */
const STORAGE_KEY = new RegExp(`^${REGION}\\|${NAME}(?:\\|(?:multi-az|iops))?$`);

/**
 * Why a price of this unit cannot be written (not a number, not above 0, absurd), or null
 * when it is sane: the rule every table is validated with, for a price from the Price List API.
 */
export function priceProblem(usd: unknown, unit: Price['unit']): string | null {
  const parsed = price(`the price in USD per ${unit}`, CEILING[unit]).safeParse(usd);
  return parsed.success ? null : parsed.error.issues.map((i) => i.message).join('; ');
}

/** A price: a finite number above 0 (an unknown price is left out, never written as 0) and sane. */
const price = (what: string, ceiling: number) =>
  z
    .number({ error: (i) => `${what} must be a number, got ${JSON.stringify(i.input) ?? String(i.input)}` })
    .refine((n) => n > 0, { error: (i) => `${what} must be above 0, got ${String(i.input)}` })
    .refine((n) => n <= ceiling, {
      error: (i) => `${what} of ${String(i.input)} is absurd (above ${ceiling})`,
    });

const PriceEntry = z
  .object({
    usd: z.unknown(),
    unit: z.enum(['hour', 'acu-hour', 'gb-month', 'iops-month'], {
      error: (i) => `unit must be hour, acu-hour, gb-month or iops-month, got ${JSON.stringify(i.input)}`,
    }),
  })
  .strict()
  .superRefine((p, ctx) => {
    const problem = priceProblem(p.usd, p.unit);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, path: ['usd'] });
  })
  .transform((p) => ({ usd: p.usd as number, unit: p.unit }));

const databaseHours = z
  .record(
    z.string().regex(DATABASE_KEY, { error: 'a key must read region|engine|db.class|single-az or multi-az' }),
    PriceEntry,
  )
  .superRefine((rec, ctx) => {
    for (const [key, p] of Object.entries(rec)) {
      const serverless = key.split('|')[2] === 'db.serverless';
      const want = serverless ? 'acu-hour' : 'hour';
      if (p.unit !== want)
        ctx.addIssue({ code: 'custom', path: [key, 'unit'], message: `must be ${want}, got ${p.unit}` });
    }
  });

const storage = z
  .record(
    z.string().regex(STORAGE_KEY, { error: 'a key must read region|storage-type, …|multi-az or …|iops' }),
    PriceEntry,
  )
  .superRefine((rec, ctx) => {
    for (const [key, p] of Object.entries(rec)) {
      const want = key.endsWith('|iops') ? 'iops-month' : 'gb-month';
      if (p.unit !== want)
        ctx.addIssue({ code: 'custom', path: [key, 'unit'], message: `must be ${want}, got ${p.unit}` });
    }
  });

const DATE = z.iso.date({ error: 'must be the day the prices were taken, YYYY-MM-DD' });

const PriceTableFile = z
  .object({
    source: z.string({ error: 'must name where the prices come from' }).trim().min(1),
    date: DATE,
    currency: z.literal('USD', { error: 'must be USD' }),
    databaseHours,
    storage,
    kubernetes: z
      .object({ vcpuHour: price('vcpuHour', 10), gibHour: price('gibHour', 10) })
      .strict()
      .nullable(),
    tool: z
      .object({
        stateTransition: price('stateTransition', 0.01),
        lambdaGbSecond: price('lambdaGbSecond', 0.01),
      })
      .strict()
      .nullable(),
  })
  .strict();

/** An override file: dated and sourced like a table, holding only the prices it replaces. */
const OverrideFile = PriceTableFile.partial({
  databaseHours: true,
  storage: true,
  kubernetes: true,
  tool: true,
}).extend({
  currency: z.literal('USD', { error: 'must be USD' }).optional(),
});
export type PriceOverride = z.infer<typeof OverrideFile>;

/** Names the entry an issue is about: databaseHours["us-east-1|postgres|db.t3.micro|single-az"].usd. */
function entryPath(path: readonly PropertyKey[]): string {
  const keyed = path[0] === 'databaseHours' || path[0] === 'storage';
  return (
    path
      .map((seg, i) => {
        const s = String(seg);
        if (i === 1 && keyed) return `[${JSON.stringify(s)}]`;
        return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? `${i === 0 ? '' : '.'}${s}` : `[${JSON.stringify(s)}]`;
      })
      .join('') || '(the file)'
  );
}

function refuse(name: string, err: z.ZodError): never {
  const lines = err.issues.map((i) => {
    // A bad record key: zod nests the key's own issue; its message says what a key must read.
    const message = i.code === 'invalid_key' ? i.issues.map((k) => k.message).join('; ') : i.message;
    return `${entryPath(i.path)}: ${message}`;
  });
  throw new CimError(ErrorNames.ConfigInvalid, `price table ${name} is invalid: ${lines.join('; ')}`);
}

/** Parses JSON text (a file's content), refusing text that is not JSON (a truncated file). */
function json(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `price table ${name} is not JSON: ${(err as Error).message}`,
    );
  }
}

/** Validates a whole price table (the shipped one, or one refreshed from the Price List API). */
export function parsePriceTable(input: unknown, name: string): PriceTable {
  const parsed = PriceTableFile.safeParse(typeof input === 'string' ? json(input, name) : input);
  if (!parsed.success) refuse(name, parsed.error);
  return parsed.data;
}

/** Validates an override file: source and date required, any subset of the prices. */
export function parsePriceOverride(input: unknown, name: string): PriceOverride {
  const parsed = OverrideFile.safeParse(typeof input === 'string' ? json(input, name) : input);
  if (!parsed.success) refuse(name, parsed.error);
  return parsed.data;
}

/**
 * The table with the override's prices in place of the matching keys (and its new keys
 * added); the rest, and the table's own source and date, stay. `overrides` says which file
 * changed it, so the page can show that negotiated rates were used.
 */
export function applyOverride(table: PriceTable, override: PriceOverride): PriceTable {
  return {
    ...table,
    databaseHours: { ...table.databaseHours, ...override.databaseHours },
    storage: { ...table.storage, ...override.storage },
    kubernetes: override.kubernetes === undefined ? table.kubernetes : override.kubernetes,
    tool: override.tool === undefined ? table.tool : override.tool,
    overrides: `${override.source} (${override.date})`,
  };
}

/** The table shipped with the project, validated once (a bad edit fails its unit test). */
export function defaultPriceTable(): PriceTable {
  return parsePriceTable(shipped, 'prices/default.json');
}

/**
 * The prices a report uses: the shipped table, with an override file's content (negotiated
 * rates) applied when one is given. The caller reads the file; this refuses bad content.
 */
export function reportPrices(override?: { text: string; name: string }): PriceTable {
  const table = defaultPriceTable();
  return override ? applyOverride(table, parsePriceOverride(override.text, override.name)) : table;
}

/** The shipped table as an origin: its file and date (its long source is on the page's line). */
export const SHIPPED_NAME = 'prices/default.json';

/**
 * The prices a report uses, layered: each price from the override file when it names it, else
 * from the table refreshed into the bucket (`cim prices refresh`) when there is one, else from
 * the shipped table. Every price keeps its origin (source and date) for the page. Kubernetes
 * and the tool's own prices: the override's, else the refreshed table's when it has them,
 * else the shipped ones (a refresh asks only for database prices).
 */
export function layerPrices(
  shipped: PriceTable,
  refreshed: PriceTable | null,
  override?: PriceOverride,
): PriceTable {
  const origins: Record<string, PriceOrigin> = {};
  const take = (
    section: 'databaseHours' | 'storage',
    entries: Record<string, Price> | undefined,
    origin: PriceOrigin,
    into: Record<string, Price>,
  ) => {
    for (const [key, p] of Object.entries(entries ?? {})) {
      into[key] = p;
      origins[`${section}|${key}`] = origin;
    }
  };
  const databaseHours: Record<string, Price> = {};
  const storage: Record<string, Price> = {};
  type Layer = {
    origin: PriceOrigin;
    t: { databaseHours?: Record<string, Price> | undefined; storage?: Record<string, Price> | undefined };
  };
  const layers: Layer[] = [{ origin: { source: SHIPPED_NAME, date: shipped.date }, t: shipped }];
  if (refreshed) layers.push({ origin: { source: refreshed.source, date: refreshed.date }, t: refreshed });
  if (override) layers.push({ origin: { source: override.source, date: override.date }, t: override });
  for (const { origin, t } of layers) {
    take('databaseHours', t.databaseHours, origin, databaseHours);
    take('storage', t.storage, origin, storage);
  }
  const base = refreshed ?? shipped;
  return {
    source: base.source,
    date: base.date,
    currency: 'USD',
    databaseHours,
    storage,
    kubernetes:
      override?.kubernetes !== undefined
        ? override.kubernetes
        : (refreshed?.kubernetes ?? shipped.kubernetes),
    tool: override?.tool !== undefined ? override.tool : (refreshed?.tool ?? shipped.tool),
    ...(override ? { overrides: `${override.source} (${override.date})` } : {}),
    ...(refreshed ? { fallback: `${SHIPPED_NAME} (${shipped.date})` } : {}),
    origins,
  };
}
