// `cim report`: the fleet report of the selected environments over the last N days, written
// as DIR/index.html (self-contained), report.json and savings.csv, built from the run index
// (lambdas/core/report/build.ts). It changes no record: it may add the seals of past days
// under report/index/ (when its credentials allow; day-seals.ts), and `--backfill` first indexes
// the older (legacy) history once, deleting the seals of the days it adds rows to.
// `--serve` then serves DIR on 127.0.0.1 until interrupted.

import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { signedGetUrl } from '#core/clients/s3-presign';
import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import type { Environment } from '#core/config/schema';
import { parseSelectionArg, selectEnvironments } from '#core/config/selection';
import { CimError, ErrorNames, errorMessage, errorName } from '#core/errors';
import { type BackfillResult, backfillRunIndex } from '#core/records/run-index';
import { buildReport, type IndexRead, type ReportSource } from '#core/report/build';
import { renderSavingsCsv } from '#core/report/csv';
import { unsealDays } from '#core/report/day-seals';
import type { Exclusion, PriceTable, ReportModel } from '#core/report/model';
import { renderReportJson, renderReportPage } from '#core/report/page';
import { newestRefreshed, readRefreshedPrices } from '#core/report/price-refresh';
import { defaultPriceTable, layerPrices, type PriceOverride, parsePriceOverride } from '#core/report/prices';
import { REPORT_PAGE_KEY } from '#core/report/publish';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';

export interface ReportInvocation {
  command: 'report';
  configPath: string;
  json: boolean;
  select: string;
  days: number;
  outDir: string;
  pricesFile: string | undefined;
  serve: boolean;
  port: number;
  backfill: boolean;
  /** Print a presigned link to the deployed report (report/index.html) instead of building one. */
  url: boolean;
}

/** How long a `--url` link is valid: an hour, as the link is meant to be opened now. */
export const REPORT_URL_SECONDS = 3600;

/** The files of a report, as written under DIR and served by --serve. */
export const REPORT_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'report.json': 'application/json',
  'savings.csv': 'text/csv; charset=utf-8',
} as const;

/** Writes the three files of a report; returns their paths. */
export async function writeReport(
  model: ReportModel,
  outDir: string,
): Promise<Record<keyof typeof REPORT_FILES, string>> {
  await mkdir(outDir, { recursive: true });
  const paths = {
    'index.html': join(outDir, 'index.html'),
    'report.json': join(outDir, 'report.json'),
    'savings.csv': join(outDir, 'savings.csv'),
  };
  await writeFile(paths['index.html'], renderReportPage(model));
  await writeFile(paths['report.json'], renderReportJson(model));
  await writeFile(paths['savings.csv'], renderSavingsCsv(model));
  return paths;
}

/**
 * Serves a report's files (and nothing else: no directory listing, no other path) on
 * 127.0.0.1. Port 0: any free one. Resolves once listening, with its URL.
 */
export async function serveReport(outDir: string, port: number): Promise<{ server: Server; url: string }> {
  const dir = resolve(outDir);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const name = path === '/' ? 'index.html' : path.slice(1);
    const type = (REPORT_FILES as Record<string, string>)[name];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !type) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    readFile(join(dir, name)).then(
      (body) => {
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://127.0.0.1:${bound}/` };
}

function selected(inv: ReportInvocation, config: ReturnType<typeof loadConfigFile>): Environment[] {
  const keys = selectEnvironments(config, parseSelectionArg(inv.select), inv.configPath);
  return keys.map((k) => {
    const [c = '', e = ''] = k.split('/');
    return resolveEnvironment(config, c, e, inv.configPath);
  });
}

function readOverride(file: string | undefined): PriceOverride | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CimError(ErrorNames.InvalidInput, `cannot read the price file ${file}: ${errorMessage(err)}`);
  }
  return parsePriceOverride(text, file);
}

/**
 * The prices of a report: the override file's > the refreshed table in the selection's state
 * buckets (`cim prices refresh`; the newest one when the selection spans several) > the
 * shipped table. A refreshed table that cannot be used is an exclusion, and the shipped
 * prices are used in its place.
 */
async function layeredPrices(
  envs: Environment[],
  override: PriceOverride | undefined,
): Promise<{ prices: PriceTable; exclusions: Exclusion[] }> {
  const buckets = new Map<string, Environment>();
  for (const env of envs) if (!buckets.has(env.bucket)) buckets.set(env.bucket, env);
  const tables: PriceTable[] = [];
  const exclusions: Exclusion[] = [];
  for (const env of buckets.values()) {
    const got = await readRefreshedPrices(new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket));
    if (got.table) tables.push(got.table);
    if (got.exclusion) exclusions.push(got.exclusion);
  }
  return { prices: layerPrices(defaultPriceTable(), newestRefreshed(tables), override), exclusions };
}

/**
 * `--url`: one link per state bucket of the selection to its deployed report/index.html,
 * signed with the caller's credentials (so valid an hour at most, less if they expire sooner).
 * Signing makes no request: a bucket whose report was never written answers the link with 404.
 */
async function printLinks(inv: ReportInvocation, envs: Environment[]): Promise<number> {
  const buckets = new Map<string, Environment>();
  for (const env of envs) if (!buckets.has(env.bucket)) buckets.set(env.bucket, env);
  const links: { bucket: string; key: string; url: string; expiresInSeconds: number }[] = [];
  for (const env of buckets.values()) {
    const url = await signedGetUrl(env.bucket, env.bucketRegion, REPORT_PAGE_KEY, REPORT_URL_SECONDS);
    links.push({ bucket: env.bucket, key: REPORT_PAGE_KEY, url, expiresInSeconds: REPORT_URL_SECONDS });
  }
  if (inv.json) process.stdout.write(`${JSON.stringify({ links }, null, 2)}\n`);
  else
    process.stdout.write(
      links
        .map((l) => `s3://${l.bucket}/${l.key} (valid 1 hour; rebuilt after each fleet run):\n  ${l.url}\n`)
        .join(''),
    );
  return ExitCode.Done;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What reading the index cost, for whoever wonders why a report took long. */
function indexSummary(r: IndexRead): string {
  const q = r.requests;
  const sealed =
    r.sealsWritten || r.sealsRefused
      ? `; ${plural(r.sealsWritten, 'day seal')} written${r.sealsRefused ? `, ${r.sealsRefused} not allowed (no write access to report/index/: later reports list those days again)` : ''}`
      : '';
  return `index: ${r.sealedDays} environment-day(s) read from seals, ${r.listedDays} listed; ${q.list} LIST + ${q.get} GET${sealed}`;
}

export async function report(inv: ReportInvocation, now: () => Date = () => new Date()): Promise<number> {
  try {
    const config = loadConfigFile(inv.configPath);
    if (inv.url) return await printLinks(inv, selected(inv, config));
    // The override first: a bad price file is refused before any S3 request.
    const override = readOverride(inv.pricesFile);
    const envs = selected(inv, config);
    const { prices, exclusions: priceExclusions } = await layeredPrices(envs, override);
    const sources: ReportSource[] = envs.map((env) => ({
      env,
      store: new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket),
    }));
    const backfilled: Record<string, BackfillResult> = {};
    if (inv.backfill) {
      for (const s of sources) {
        const b = await backfillRunIndex(s.store, s.env);
        backfilled[`${s.env.customer}/${s.env.environment}`] = b;
        // Rows added to a sealed day: the seal no longer holds all of them.
        await unsealDays(s.store, b.days);
      }
    }
    let index: IndexRead | undefined;
    const model = await buildReport({
      environments: sources,
      days: inv.days,
      now: now(),
      prices,
      onIndexRead: (r) => {
        index = r;
      },
    });
    model.exclusions.push(...priceExclusions);
    const paths = await writeReport(model, inv.outDir);
    const served = inv.serve ? await serveReport(inv.outDir, inv.port) : null;
    if (inv.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            files: paths,
            environments: envs.length,
            exclusions: model.exclusions.length,
            ...(index ? { index } : {}),
            ...(inv.backfill ? { backfill: backfilled } : {}),
            ...(served ? { url: served.url } : {}),
          },
          null,
          2,
        )}\n`,
      );
    } else {
      const lines: string[] = [];
      for (const [key, b] of Object.entries(backfilled))
        lines.push(
          `backfill ${key}: ${b.written} rows written, ${b.existing} already indexed, ${b.skipped.length} builds without a row`,
        );
      lines.push(
        `report of ${envs.length} environment(s) over ${plural(model.range.days, 'day')} written to ${resolve(paths['index.html'])}`,
        `  also ${resolve(paths['report.json'])} and ${resolve(paths['savings.csv'])}`,
      );
      if (index) lines.push(`  ${indexSummary(index)}`);
      if (model.exclusions.length)
        lines.push(
          `  ${model.exclusions.length} object(s) left out (listed on the page, with their keys and reasons)`,
        );
      if (served) lines.push(`serving on ${served.url} (Ctrl-C to stop)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    if (served) await new Promise<void>((done) => served.server.once('close', () => done()));
    return ExitCode.Done;
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}
