// The report from real runs on the real peers (issue 18), seen in headless Chromium as a person
// sees it: `cim down` then `cim up` of trust/watch against moto and the real API server; then
// `cim report` writes the page, whose numbers must equal what the test measures from the index
// rows of its own two runs; then the deployed form: the report function's publishReport writes
// report/ into the sandbox bucket and `cim report --url` signs a link that Chromium opens from
// moto. Screenshots land in .cache/screenshots/ (git-ignored) for a person to look at.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeleteObjectsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import type { ReportModel, RunRow } from '#core/report/model';
import { reportPrices } from '#core/report/prices';
import { publishReport, REPORT_PAGE_KEY } from '#core/report/publish';
import { chromiumPath, openOffline, reportFigures } from '#test/support/browser';
import { SANDBOX_ENVIRONMENTS } from '../../sandbox/sandbox.ts';
import { apps, cim, json, keys, s3, sandbox } from './peers.ts';

const SHOTS = resolve(import.meta.dirname, '..', '..', '.cache', 'screenshots');
const P = `${sandbox.cluster}/trust/watch`;
const where = ['--customer', 'trust', '--env', 'watch'];
const seeded = SANDBOX_ENVIRONMENTS['trust/watch'].deployments;
const HOUR = 3_600_000;

let browser: Browser;
let dir: string;
let down: RunRow;
let up: RunRow;

/** trust/watch as if never run: no records, deployments at their seeded counts. */
async function fresh() {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: sandbox.bucket, Prefix: `${P}/` }));
  const objects = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({
    Key: v.Key as string,
    VersionId: v.VersionId as string,
  }));
  if (objects.length)
    await s3.send(new DeleteObjectsCommand({ Bucket: sandbox.bucket, Delete: { Objects: objects } }));
  for (const [name, value] of Object.entries(seeded))
    await apps.patchNamespacedDeploymentScale({
      namespace: 'trust-watch',
      name,
      body: [{ op: 'replace', path: '/spec/replicas', value }],
    });
}

beforeAll(async () => {
  await fresh();
  for (const [action, build] of [
    ['down', 'rp1'],
    ['up', 'rp2'],
  ] as const) {
    const r = await cim([action, ...where, '--build', build, '--json']);
    expect(r.code, `${action}: ${r.stdout}\n${r.stderr}`).toBe(0);
  }
  const rows = (await keys(`${P}/index/`)).filter((k) => /\/rp[12]-(down|up)\.json$/.test(k));
  expect(rows).toHaveLength(2);
  [down, up] = (await Promise.all(rows.map((k) => json(k)))).sort((a, b) =>
    a.startedAt.localeCompare(b.startedAt),
  ) as [RunRow, RunRow];
  dir = mkdtempSync(join(tmpdir(), 'cim-report-real-'));
  mkdirSync(SHOTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox'],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the report of real runs on the real peers', () => {
  it('cim report: the page shows the sleep between the two runs, measured from their own index rows', async () => {
    const r = await cim(['report', '--select', 'trust/watch', '--days', '1', '--out', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const model = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportModel;
    // What the test did: asleep from the down's end to the up's start; awake now.
    const slept = (Date.parse(up.startedAt) - Date.parse(down.endedAt as string)) / HOUR;
    expect(slept).toBeGreaterThan(0);
    expect(model.timelines[0]?.asleep).toEqual([{ from: down.endedAt, to: up.startedAt }]);
    expect(model.timelines[0]?.runs.map((x) => `${x.action}:${x.outcome}`)).toEqual([
      'down:succeeded',
      'up:succeeded',
    ]);
    const replicas = Object.values(seeded).reduce((a, b) => a + b, 0);
    expect(model.savings.facts.workloads.reduce((n, w) => n + w.replicas, 0)).toBe(replicas);
    // The CPU the down's own pre-state recorded (replicas × one pod's requests), freed for those hours.
    const pre = await json(`${P}/history/rp1/pre-state.json`);
    const cpu = Object.values(pre.k8s_deployments as Record<string, any>).reduce(
      (n, d) => n + d.deployment_replicas * (d.pod_requests?.cpu_cores ?? 0),
      0,
    );

    const { page, outside, errors } = await openOffline(browser, pathToFileURL(join(dir, 'index.html')).href);
    const seen = await reportFigures(page);
    await page.screenshot({ path: join(SHOTS, 'report-real-peers.png'), fullPage: true });
    await page.close();
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    expect(seen).toMatchObject({ awake: 1, asleep: 0, succeeded: 2, timelines: 1 });
    expect(seen.dbHours).toBeCloseTo(slept, 6);
    expect(seen.vcpuHours).toBeCloseTo(cpu * slept, 6);
    expect(seen.text).toContain('trust/watch');
  });

  it('deployed: the published report/index.html opens from the link cim report --url signs', async () => {
    const config = loadConfigFile(sandbox.configFile);
    const env = resolveEnvironment(config, 'trust', 'watch', sandbox.configFile);
    const store = new S3StateStore(s3, env.bucket);
    const published = await publishReport({
      environments: [env],
      store: () => store,
      files: () => store,
      now: new Date(),
      prices: reportPrices(),
    });
    expect(published[0]?.keys).toContain(REPORT_PAGE_KEY);

    const r = await cim(['report', '--url', '--select', 'trust/watch', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { links } = JSON.parse(r.stdout) as { links: { url: string }[] };
    const url = links[0]?.url ?? '';
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('3600');
    const { page, outside, errors } = await openOffline(browser, url);
    const seen = await reportFigures(page);
    await page.screenshot({ path: join(SHOTS, 'report-deployed-link.png'), fullPage: true });
    await page.close();
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    const slept = (Date.parse(up.startedAt) - Date.parse(down.endedAt as string)) / HOUR;
    expect(seen).toMatchObject({ awake: 1, succeeded: 2, timelines: 1 });
    expect(seen.dbHours).toBeCloseTo(slept, 6);
  });
});
