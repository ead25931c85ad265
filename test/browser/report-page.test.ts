// The report page in a real headless Chromium (issue 18): opened from a file:// URL with every
// request intercepted, it must load nothing, log no error, show the model's numbers, switch
// theme with the system, read the same with JavaScript off and print on A4. Screenshots (light
// and dark) and the PDF land in .cache/screenshots/ (git-ignored) for a person to look at.
// Chromium: $CHROMIUM_PATH, else `chromium` on the PATH (sandbox/browser.sh installs it).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportModel, Trigger } from '#core/report/model';
import { renderReportPage } from '#core/report/page';
import { chromiumPath, type Opened, openOffline } from '#test/support/browser';
import { HOSTILE_REASON, reportModel } from '#test/support/report-model';

const SHOTS = resolve(import.meta.dirname, '..', '..', '.cache', 'screenshots');

const model = reportModel();

/** Records anyone with write access to the bucket shaped: times that do not parse, a trigger that is markup. */
function brokenModel(): ReportModel {
  const m = reportModel();
  const t = m.timelines[0];
  if (t === undefined) throw new Error('the fixture has timelines');
  t.asleep.push({ from: 'yesterday', to: '2026-13-45T99:00:00Z' });
  t.runs.push({
    at: 'not a time',
    action: 'up',
    trigger: '"><script>x()</script>' as Trigger,
    outcome: 'failed',
  });
  m.range.days = Number.NaN;
  return m;
}

let dir: string;
let url: string;
let brokenUrl: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cim-report-'));
  writeFileSync(join(dir, 'index.html'), renderReportPage(model));
  url = pathToFileURL(join(dir, 'index.html')).href;
  writeFileSync(join(dir, 'broken.html'), renderReportPage(brokenModel()));
  brokenUrl = pathToFileURL(join(dir, 'broken.html')).href;
  mkdirSync(SHOTS, { recursive: true });
  // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
  browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox'],
  });
});

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(options: { javaScript?: boolean; url?: string } = {}): Promise<Opened> {
  return openOffline(browser, options.url ?? url, options);
}

/** What a reader sees, read from the DOM: each number's visible text and its exact value. */
function readNumbers(page: Page) {
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    const read = (sel: string) => {
      const el = doc.querySelector(sel);
      const data = el?.matches('data') ? el : el?.querySelector('data');
      return data ? { value: Number(data.getAttribute('value')), text: String(data.textContent) } : null;
    };
    const byAttr = (attr: string, keys: string[]) =>
      Object.fromEntries(keys.map((k) => [k, read(`[${attr}="${k}"]`)]));
    return {
      fleet: byAttr('data-count', ['asleep', 'awake', 'waking', 'failed', 'drifted', 'held']),
      lastNight: byAttr('data-outcome', ['succeeded', 'failed', 'refused', 'skipped']),
      durations: byAttr('data-duration', ['p50', 'p95']),
      totals: byAttr('data-total', ['databaseInstanceHours', 'vcpuHours', 'gibHours', 'nodeInstanceHours']),
      usd: byAttr('data-usd', ['databasesUsd', 'toolCost', 'netUsd', 'stillPayingUsd', 'kubernetesUsd']),
      unpriced: read('[data-unpriced]'),
      exclusions: read('[data-exclusions]'),
      problems: doc.querySelectorAll('#problems tbody tr').length,
      timelines: doc.querySelectorAll('svg.timeline').length,
      drift: [...doc.querySelectorAll('#drift tbody tr')].map((el: any) => String(el.textContent)),
      reasons: [...doc.querySelectorAll('#problems .reason')].map((el: any) => String(el.textContent)),
      scripts: doc.scripts.length,
      title: String(doc.title),
    };
  });
}

const hours = (text: string | undefined) => Number(text?.replace(/,/g, ''));
const dollars = (text: string | undefined) => Number(text?.replace(/[$,]/g, ''));

describe('the report page in headless Chromium', () => {
  it('loads nothing from outside, logs no error and shows the numbers of the model', async () => {
    const { page, outside, errors } = await open();
    const seen = await readNumbers(page);

    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    for (const [state, count] of Object.entries(model.fleet.counts)) {
      expect(seen.fleet[state]).toEqual({ value: count, text: String(count) });
    }
    for (const [outcome, count] of Object.entries(model.lastNight.counts)) {
      expect(seen.lastNight[outcome]).toEqual({ value: count, text: String(count) });
    }
    expect(seen.durations.p50).toEqual({ value: 270, text: '4 min 30 s' });
    expect(seen.durations.p95).toEqual({ value: 1200, text: '20 min 0 s' });
    for (const [key, value] of Object.entries(model.savings.facts.totals)) {
      expect(seen.totals[key]?.value).toBe(value);
      expect(hours(seen.totals[key]?.text)).toBeCloseTo(value, 1);
    }
    const { estimate } = model.savings;
    expect(dollars(seen.usd.databasesUsd?.text)).toBe(estimate.databasesUsd);
    expect(dollars(seen.usd.netUsd?.text)).toBe(estimate.netUsd);
    expect(dollars(seen.usd.toolCost?.text)).toBe(estimate.toolCost.usd);
    expect(dollars(seen.usd.stillPayingUsd?.text)).toBe(estimate.stillPayingUsd);
    expect(seen.usd.kubernetesUsd?.text).toBe('$1,234.50');
    expect(seen.unpriced?.value).toBe(estimate.unpriced.count);
    expect(seen.exclusions?.value).toBe(model.exclusions.length);
    expect(seen.problems).toBe(model.problems.length);
    expect(seen.timelines).toBe(model.timelines.length);
    // Each drift row says what, and names the record that shows it (and when it was put right).
    expect(seen.drift).toHaveLength(model.drift.length);
    expect(seen.drift[0]).toContain('database available while it should sleep');
    expect(seen.drift[0]).toContain('gamma/perf/history/guard-20261203T040000Z-abcdef/keep-stopped.json');
    expect(seen.drift[0]).toContain('put right');
    await page.close();
  });

  it('shows a reason holding markup as text, and runs none of it', async () => {
    const { page, errors } = await open();
    const seen = await readNumbers(page);
    expect(seen.reasons).toContain(HOSTILE_REASON);
    expect(seen.scripts).toBe(0);
    expect(seen.title).toBe('Fleet report 2026-11-29 – 2026-12-06');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('renders records with unparsable times and markup in a trigger without a browser error', async () => {
    const { page, outside, errors } = await open({ url: brokenUrl });
    const seen = await readNumbers(page);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    expect(seen.scripts).toBe(0);
    expect(seen.timelines).toBe(model.timelines.length);
    await page.close();
  });

  it('follows the system theme: light, then dark; a screenshot of each for a person', async () => {
    const { page } = await open();
    const colours = () =>
      page.evaluate(() => {
        const g = globalThis as any;
        const style = g.getComputedStyle(g.document.body);
        return { bg: String(style.backgroundColor), fg: String(style.color) };
      });
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    const light = await colours();
    await page.screenshot({ path: join(SHOTS, 'report-light.png'), fullPage: true });
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    const dark = await colours();
    await page.screenshot({ path: join(SHOTS, 'report-dark.png'), fullPage: true });

    expect(light).toEqual({ bg: 'rgb(255, 255, 255)', fg: 'rgb(27, 31, 36)' });
    expect(dark).toEqual({ bg: 'rgb(13, 17, 23)', fg: 'rgb(230, 237, 243)' });
    await page.close();
  });

  it('reads the same with JavaScript disabled', async () => {
    const { page, outside, errors } = await open({ javaScript: false });
    // The accessibility tree comes from the browser, not from script run in the page.
    const tree = await page.accessibility.snapshot({ interestingOnly: false });
    const names: string[] = [];
    const walk = (node: { name?: string; children?: unknown[] } | null) => {
      if (!node) return;
      if (node.name) names.push(node.name);
      for (const child of node.children ?? []) walk(child as typeof node);
    };
    walk(tree);
    const text = names.join('\n');

    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    for (const heading of [
      'Fleet now',
      'Last night',
      'Failures and refusals',
      'Drift',
      'Timelines',
      'Savings',
    ]) {
      expect(names).toContain(heading);
    }
    expect(text).toContain(HOSTILE_REASON);
    expect(text).toContain('$21.28');
    await page.close();
  });

  it('prints to an A4 PDF', async () => {
    const { page } = await open();
    const pdf = Buffer.from(await page.pdf({ format: 'A4', printBackground: true }));
    writeFileSync(join(SHOTS, 'report.pdf'), pdf);

    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    // A4 is 595 × 842 points; Chromium writes its page boxes rounded to these.
    const boxes = [...pdf.toString('latin1').matchAll(/\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/g)];
    expect(boxes.length).toBeGreaterThan(0);
    for (const [, w, h] of boxes) {
      expect(Math.round(Number(w))).toBeGreaterThanOrEqual(594);
      expect(Math.round(Number(w))).toBeLessThanOrEqual(596);
      expect(Math.round(Number(h))).toBeGreaterThanOrEqual(841);
      expect(Math.round(Number(h))).toBeLessThanOrEqual(843);
    }
    await page.close();
  });
});
