// The report page built by buildReport from real runs (issue 18): a scheduled down, a
// person's up 10 h later, a refused up and another down, run on the local engine against the
// test world; the page, opened in headless Chromium with every request intercepted, shows the
// numbers the test computes from its own actions, loads nothing and logs no error. A
// screenshot lands in .cache/screenshots/ (git-ignored) for a person to look at.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportPage } from '#core/report/page';
import { chromiumPath, openOffline, reportFigures } from '#test/support/browser';
import { FAKE_DEPLOYMENT_REQUESTS } from '#test/support/fake-kube';
import {
  REPORT_AFTER_HOURS,
  type ReportRuns,
  reportFromRealRuns,
  SLEEP_HOURS,
} from '#test/support/report-runs';
import { makeWorld, type World } from '#test/support/world';

const SHOTS = resolve(import.meta.dirname, '..', '..', '.cache', 'screenshots');

let w: World;
let runs: ReportRuns;
let dir: string;
let browser: Browser;

beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  w = makeWorld();
  runs = await reportFromRealRuns(w);
  dir = mkdtempSync(join(tmpdir(), 'cim-report-runs-'));
  writeFileSync(join(dir, 'index.html'), renderReportPage(runs.model));
  mkdirSync(SHOTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox'],
  });
});

afterAll(async () => {
  await browser?.close();
  w?.restore();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the report page of real runs', () => {
  it('shows the hours asleep and the runs the test made, loading nothing from outside', async () => {
    const url = pathToFileURL(join(dir, 'index.html')).href;
    const { page, outside, errors } = await openOffline(browser, url);
    const seen = await reportFigures(page);
    await page.screenshot({ path: join(SHOTS, 'report-from-runs.png'), fullPage: true });
    await page.close();

    expect(runs.statuses).toEqual(['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    // What the test did: one database instance asleep 10 h, then again from the last down's
    // end until the report, 3 h later; the environment is asleep now.
    expect(seen.dbHours).toBeCloseTo(SLEEP_HOURS + REPORT_AFTER_HOURS, 9);
    // Three pods (1 + 2 replicas) of 0.35 CPU each, freed for those hours.
    expect(seen.vcpuHours).toBeCloseTo(
      3 * FAKE_DEPLOYMENT_REQUESTS.cpuCores * (SLEEP_HOURS + REPORT_AFTER_HOURS),
      9,
    );
    expect(seen.asleep).toBe(1);
    expect(seen.awake).toBe(0);
    // The 24 h before the report hold the up (15 h before) and the second down; the refused
    // up wrote nothing (Prepare's refusals never do), so it is not counted.
    expect(seen.succeeded).toBe(2);
    expect(seen.refused).toBe(0);
    expect(seen.timelines).toBe(1);
  });
});
