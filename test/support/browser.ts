// The browser tests' harness: Debian's chromium (CHROMIUM_PATH, else on the PATH: see
// sandbox/browser.sh) and a page opened with every request intercepted, so a test can assert
// that nothing left the page and nothing was logged as an error.
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'puppeteer-core';

export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('no Chromium: set CHROMIUM_PATH or run sandbox/browser.sh (installs Debian chromium)');
  }
}

export interface Opened {
  page: Page;
  /** Every request that was not for the page itself or a data: URL (each was aborted). */
  outside: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
}

/** Opens `target` at 1200×900, aborting and recording every request for anything else. */
export async function openOffline(
  browser: Browser,
  target: string,
  options: { javaScript?: boolean } = {},
): Promise<Opened> {
  const page = await browser.newPage();
  const outside: string[] = [];
  const errors: string[] = [];
  await page.setJavaScriptEnabled(options.javaScript ?? true);
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.url() === target || req.url().startsWith('data:')) void req.continue();
    else {
      outside.push(req.url());
      void req.abort();
    }
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.setViewport({ width: 1200, height: 900 });
  await page.goto(target, { waitUntil: 'load' });
  return { page, outside, errors };
}

/** The report page's figures as a person reads them: the <data> values behind the numbers shown. */
export async function reportFigures(page: Page) {
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    const value = (sel: string) => {
      const el = doc.querySelector(sel);
      const data = el?.matches('data') ? el : el?.querySelector('data');
      return data ? Number(data.getAttribute('value')) : null;
    };
    return {
      asleep: value('[data-count="asleep"]') as number | null,
      awake: value('[data-count="awake"]') as number | null,
      succeeded: value('[data-outcome="succeeded"]') as number | null,
      refused: value('[data-outcome="refused"]') as number | null,
      dbHours: value('[data-total="databaseInstanceHours"]') as number | null,
      vcpuHours: value('[data-total="vcpuHours"]') as number | null,
      timelines: doc.querySelectorAll('svg.timeline').length as number,
      text: doc.body.innerText as string,
    };
  });
}
