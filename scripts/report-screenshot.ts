// npm run report:screenshot -- [DIR] [OUT]: screenshots of a written report (DIR/index.html,
// default .cache/report, where `cim report --out` puts it) in light and dark, the first
// 1280×900 pixels each, as OUT/report-light.png and OUT/report-dark.png (default
// docs/images), for the README. Opens the page from its file:// URL in Debian's headless
// Chromium ($CHROMIUM_PATH, else `chromium` on the PATH; sandbox/browser.sh installs it) and
// refuses any request that leaves the page, so a screenshot never shows a half-loaded page.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const [dir = '.cache/report', out = 'docs/images'] = process.argv.slice(2);
const page = resolve(dir, 'index.html');
if (!existsSync(page)) {
  console.error(`report-screenshot: no ${page}: write the report first (cim report --out ${dir})`);
  process.exit(2);
}
const executablePath =
  process.env.CHROMIUM_PATH ||
  execFileSync('sh', ['-c', 'command -v chromium || true'], { encoding: 'utf8' }).trim();
if (!executablePath) {
  console.error('report-screenshot: no Chromium: set CHROMIUM_PATH or run sandbox/browser.sh');
  process.exit(2);
}

mkdirSync(out, { recursive: true });
const url = pathToFileURL(page).href;
// --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
const browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const tab = await browser.newPage();
  const outside: string[] = [];
  await tab.setRequestInterception(true);
  tab.on('request', (req) => {
    if (req.url() === url || req.url().startsWith('data:')) void req.continue();
    else {
      outside.push(req.url());
      void req.abort();
    }
  });
  await tab.setViewport({ width: 1280, height: 900 });
  await tab.goto(url, { waitUntil: 'load' });
  if (outside.length > 0)
    throw new Error(`the page asked for ${outside.join(', ')}: it must be self-contained`);
  for (const scheme of ['light', 'dark'] as const) {
    await tab.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
    const file = join(out, `report-${scheme}.png`);
    await tab.screenshot({ path: file });
    console.log(file);
  }
} finally {
  await browser.close();
}
