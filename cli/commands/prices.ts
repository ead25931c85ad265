// `cim prices refresh [--select SEL | --all] [--dry-run]`: the on-demand prices of the selected
// environments' databases (region, engine, class, deployment, storage: from the pre-state of
// each one's last succeeded down), asked of the AWS Price List API and written to each of their
// state buckets as report/prices.json, which `cim report` and the deployed report then prefer to
// the shipped table. --dry-run prints the table it would write and writes nothing.
import { priceListClient } from '#core/clients/pricing';
import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import type { Environment } from '#core/config/schema';
import { parseSelectionArg, selectEnvironments } from '#core/config/selection';
import { errorName } from '#core/errors';
import type { PriceList } from '#core/gateways/price-list';
import type { Exclusion } from '#core/report/model';
import {
  type PriceRefresh,
  recordedDatabase,
  refreshPrices,
  wantedPrices,
  writeRefreshedPrices,
} from '#core/report/price-refresh';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';

export interface PricesInvocation {
  command: 'prices';
  configPath: string;
  json: boolean;
  /** The selection (`*` for --all, the default). */
  select: string;
  dryRun: boolean;
}

export interface PricesDeps {
  priceList(): PriceList;
  store(env: Environment): S3StateStore;
  now(): Date;
}

const defaults: PricesDeps = {
  priceList: () => priceListClient(),
  store: (env) => new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket),
  now: () => new Date(),
};

function summary(r: PriceRefresh, databases: number, written: string[], dryRun: boolean): string {
  const lines = [
    `${r.found} price(s) found for ${databases} recorded database(s) (${r.table.source}, ${r.table.date})`,
  ];
  if (r.none.length) {
    lines.push(`${r.none.length} with no price (the report shows "no price" for them, never 0):`);
    for (const n of r.none) lines.push(`  ${n.key}: ${n.reason}`);
  }
  if (r.refused.length) {
    lines.push(`${r.refused.length} price(s) from the API refused and left out:`);
    for (const n of r.refused) lines.push(`  ${n.key}: ${n.reason}`);
  }
  if (r.unreadable) lines.push(`${r.unreadable} product document(s) from the API unreadable and ignored`);
  if (dryRun)
    lines.push('dry run: nothing written; the table it would write:', JSON.stringify(r.table, null, 2));
  else lines.push(...written.map((w) => `written to ${w}`));
  return `${lines.join('\n')}\n`;
}

export async function prices(inv: PricesInvocation, deps: PricesDeps = defaults): Promise<number> {
  try {
    const config = loadConfigFile(inv.configPath);
    const envs = selectEnvironments(config, parseSelectionArg(inv.select), inv.configPath).map((k) => {
      const [c = '', e = ''] = k.split('/');
      return resolveEnvironment(config, c, e, inv.configPath);
    });
    const now = deps.now();
    const facts: { region: string; database: Awaited<ReturnType<typeof recordedDatabase>>['database'] }[] =
      [];
    const exclusions: Exclusion[] = [];
    for (const env of envs) {
      const got = await recordedDatabase(deps.store(env), env, now);
      facts.push({ region: env.region, database: got.database });
      exclusions.push(...got.exclusions);
    }
    const refresh = await refreshPrices(
      deps.priceList(),
      wantedPrices(facts),
      now.toISOString().slice(0, 10),
    );
    // One table for the whole selection, written to each of its buckets: a refresh replaces
    // the previous table (the bucket is versioned), so run it over --all.
    const written: string[] = [];
    if (!inv.dryRun) {
      const buckets = new Map<string, Environment>();
      for (const env of envs) if (!buckets.has(env.bucket)) buckets.set(env.bucket, env);
      for (const env of buckets.values())
        written.push(await writeRefreshedPrices(deps.store(env), refresh.table));
    }
    const databases = facts.filter((f) => f.database !== null).length;
    if (inv.json)
      process.stdout.write(
        `${JSON.stringify(
          {
            found: refresh.found,
            none: refresh.none,
            refused: refresh.refused,
            unreadable: refresh.unreadable,
            databases,
            environments: envs.length,
            exclusions,
            dryRun: inv.dryRun,
            written,
            ...(inv.dryRun ? { table: refresh.table } : {}),
          },
          null,
          2,
        )}\n`,
      );
    else {
      process.stdout.write(summary(refresh, databases, written, inv.dryRun));
      if (exclusions.length)
        process.stdout.write(
          `${exclusions.length} record(s) could not be read: ${exclusions.map((x) => `${x.key} (${x.reason})`).join('; ')}\n`,
        );
    }
    return ExitCode.Done;
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}
