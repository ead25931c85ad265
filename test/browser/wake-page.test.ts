// The wake page in a real headless Chromium (issue 19): a person signed in (a bearer token of
// the test's own OpenID Connect issuer, as an authenticating proxy would add it) opens the page
// of a sleeping environment, presses Wake, watches the steps while the database start is held
// back by the test, and lands on the application once the up has ended. The host name maps to
// 127.0.0.1 in Chromium, so the page is asked for by its configured Host; the application's
// answer is the test's own (intercepted). Records and starts are checked after.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartDBInstanceCommand } from '@aws-sdk/client-rds';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import type { WakeServer } from '#cli/commands/serve';
import { chromiumPath } from '#test/support/browser';
import { startTestIssuer, type TestIssuer } from '#test/support/oidc';
import { makeWorld, type World } from '#test/support/world';

const fake = vi.hoisted(() => ({ kube: undefined as unknown }));
vi.mock('#core/clients/kubernetes', async (importOriginal) => ({
  ...(await importOriginal<typeof import('#core/clients/kubernetes')>()),
  kubeconfigKube: () => () => fake.kube,
}));

const HOST = 'alpha-dev.example.test';
const APP = 'http://app.example.test/';
const P = 'eks-dev-cluster/alpha/dev';

let idp: TestIssuer;
let issuer: string;
let dir: string;
let w: World;
let s: WakeServer;
let browser: Browser;

const token = () =>
  idp.token({ aud: 'cim-wake', sub: 'u-alice', email: 'alice@example.test', groups: ['devs'] });

beforeAll(async () => {
  idp = await startTestIssuer();
  issuer = idp.issuer;
  process.env.CIM_CLI_NO_MAIN = '1';
  dir = mkdtempSync(join(tmpdir(), 'cim-wake-page-'));
  const config = join(dir, 'environments.yaml');
  writeFileSync(
    config,
    toYaml({
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'frontend-deployment' }, { name: 'backend-deployment' }],
      },
      environments: { 'alpha/dev': {} },
      wake: {
        issuer,
        audience: 'cim-wake',
        hosts: { [HOST]: { environment: 'alpha/dev', url: APP } },
        allow: { default: { claim: 'groups', values: ['devs'] } },
      },
    }),
  );
  w = makeWorld();
  fake.kube = w.kube;
  const { main } = await import('#cli/main');
  const quiet = [
    vi.spyOn(process.stdout, 'write').mockReturnValue(true),
    vi.spyOn(process.stderr, 'write').mockReturnValue(true),
  ];
  expect(
    await main(['down', '--customer', 'alpha', '--env', 'dev', '--user', 'jenkins', '--config', config], {}),
  ).toBe(0);
  for (const q of quiet) q.mockRestore();
  const { startWakeServer } = await import('#cli/commands/serve');
  s = await startWakeServer({
    command: 'serve',
    configPath: config,
    json: false,
    port: 0,
    kubeconfig: undefined,
    context: undefined,
  });
  const port = new URL(s.url).port;
  browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', `--host-resolver-rules=MAP ${HOST} 127.0.0.1:${port}`],
  });
});

afterAll(async () => {
  await browser?.close();
  await s?.idle();
  await s?.close();
  w?.restore();
  await idp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the wake page in a browser', () => {
  it('wakes a sleeping environment from the button, shows its steps, and lands on the application', async () => {
    // The database start is held until the test has seen the page waiting for it.
    let release: () => void = () => {};
    const held = new Promise<void>((ok) => {
      release = ok;
    });
    let starts = 0;
    w.rds.on(StartDBInstanceCommand).callsFake(async () => {
      starts++;
      await held;
      w.setDbState('available');
      return {};
    });
    const quiet = [
      vi.spyOn(process.stdout, 'write').mockReturnValue(true),
      vi.spyOn(process.stderr, 'write').mockReturnValue(true),
    ];
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${token()}` });
    await page.setRequestInterception(true);
    const outside: string[] = [];
    page.on('request', (req) => {
      const url = req.url();
      if (url.startsWith(APP))
        void req.respond({ status: 200, contentType: 'text/html', body: '<p id="app">the application</p>' });
      else if (url.startsWith(`http://${HOST}:`)) void req.continue();
      else {
        outside.push(url);
        void req.abort();
      }
    });
    const origin = `http://${HOST}:${new URL(s.url).port}`;
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    expect(await page.$eval('#state', (el) => el.textContent)).toBe('asleep');

    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type="submit"]')]);
    expect(page.url()).toBe(`${origin}/?waking=1`);
    // Held at the database start: the first step is the current one.
    await page.waitForSelector('#steps li.current');
    expect(
      await page.$$eval('#steps li', (lis) => lis.map((li) => `${li.className}:${li.textContent}`)),
    ).toEqual([
      'current:database starting',
      'pending:database available',
      'pending:workloads ready',
      'pending:health answering',
    ]);
    expect(await page.$eval('#state', (el) => el.textContent)).toBe('waking (woken by alice@example.test)');

    release();
    await page.waitForFunction(
      (app) => (globalThis as unknown as { location: { href: string } }).location.href === app,
      { timeout: 30_000 },
      APP,
    );
    expect(await page.$eval('#app', (el) => el.textContent)).toBe('the application');
    await s.idle();
    for (const q of quiet) q.mockRestore();

    expect(starts).toBe(1);
    expect(w.bucket.json(`${P}/wake.json`)).toMatchObject({
      user: 'alice@example.test',
      source: 'http',
      address: '127.0.0.1',
    });
    expect((w.bucket.json(`${P}/wake.json`) as { user_agent: string }).user_agent).toMatch(/Chrome/);
    expect(w.bucket.json(`${P}/actions.json`)).toMatchObject({ desired_state: 'up', result: 'succeeded' });
    expect(w.kube.replicas('alpha-dev', 'frontend-deployment')).toBeGreaterThan(0);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
});
