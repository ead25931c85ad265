// `npm run bench -- wake` (issue 19): a wake on demand as a person sees it, and the estimate.
//  1. On the sandbox (real S3 from moto, a real API server, the health server) in a real
//     headless Chromium: from pressing Wake on the page of a sleeping environment until the
//     browser has landed on the application (its health URL, answering), next to the wake's
//     up as its own records time it (the inherent start) and to when the application first
//     answered (an independent 50 ms poller). Overhead = landed − the up's own duration: the
//     claim, the ledgers, the page's polls, the redirect. Goal: at most 1 s.
//  2. On the local engine with a virtual clock: 20 wakes whose database start time varies
//     (log-normal, median 300 s) after 5 ups of history; before each, the page's estimate (p50
//     and p90 of this environment's past ups, from the run index), then the wake's actual
//     duration. Goal: the median relative error of p50 within 20 %.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { runLocal } from '#cli/engine/local-environment';
import { resolveEnvironment } from '#core/config/catalog';
import { WAKE_RATE_LIMITS } from '#core/run/wake-rules';
import { readEta } from '#core/wake/eta';
import { chromiumPath } from '../test/support/browser.ts';
import { startTestIssuer } from '../test/support/oidc.ts';
import { synthesizedDefinition } from '../test/support/synthesized.ts';
import { makeWorld, seedLegacyDown } from '../test/support/world.ts';
import { simulate } from './waits.ts';

type Table = (title: string, head: string[], rows: (string | number)[][]) => void;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))] ?? 0;
const HOST = 'alpha-dev.bench.test';

async function pageBench(table: Table, results: Record<string, unknown>, rounds: number) {
  const { startSandbox } = await import('../sandbox/sandbox.ts');
  const { startWakeServer } = await import('#cli/commands/serve');
  const { makeDeps } = await import('#core/wiring');
  const { loadConfigFile } = await import('#core/config/file');
  const { kubeconfigKube } = await import('#core/clients/kubernetes');
  const { S3StateStore, s3ClientFor } = await import('#core/clients/s3-store');
  const { readWake } = await import('#core/records/wake');
  const { readDayRows } = await import('#core/report/build');
  const sb = await startSandbox({ quiet: true });
  Object.assign(process.env, sb.env);
  const idp = await startTestIssuer();
  const app = `${sb.info.healthBase}/alpha-dev/frontend-deployment/healthz`;
  const configPath = join(sb.info.dir, 'wake-bench.yaml');
  const config = parseYaml(readFileSync(sb.info.configFile, 'utf8')) as Record<string, unknown>;
  config.wake = {
    issuer: idp.issuer,
    audience: 'cim-wake',
    hosts: { [HOST]: { environment: 'alpha/dev', url: app } },
    allow: { default: { claim: 'groups', values: ['devs'] } },
  };
  writeFileSync(configPath, toYaml(config));
  const loaded = loadConfigFile(configPath);
  const env = resolveEnvironment(loaded, 'alpha', 'dev', configPath);
  const store = new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
  const server = await startWakeServer({
    command: 'serve',
    configPath,
    json: false,
    port: 0,
    kubeconfig: sb.info.orchestratorKubeconfig,
    context: undefined,
  });
  const port = new URL(server.url).port;
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', `--host-resolver-rules=MAP ${HOST} 127.0.0.1:${port}`],
  });
  const definition = synthesizedDefinition();
  const down = async (build: string) => {
    const deps = makeDeps({
      config: loaded,
      configSource: configPath,
      kube: kubeconfigKube(loaded, sb.info.orchestratorKubeconfig),
      log: { info: () => {}, warn: () => {} },
    });
    const r = await runLocal({
      deps,
      definition,
      input: { action: 'down', customer: 'alpha', environment: 'dev', build, user: 'bench' },
    });
    if (r.status !== 'SUCCEEDED') throw new Error(`down failed: ${JSON.stringify(r.error)}`);
  };
  const rows: (string | number)[][] = [];
  const data: Record<
    'total' | 'inherent' | 'appAnswered' | 'overhead' | 'before' | 'after' | 'afterApp',
    number
  >[] = [];
  const quiet = process.stdout.write;
  try {
    for (let i = 0; i < rounds; i++) {
      await down(`wake-bench-down-${i}`);
      const page = await browser.newPage();
      await page.setExtraHTTPHeaders({
        authorization: `Bearer ${idp.token({ aud: 'cim-wake', sub: 'u-bench', email: 'bench@example.test', groups: ['devs'] })}`,
      });
      await page.goto(`http://${HOST}:${port}/`, { waitUntil: 'load' });
      // An independent watcher of the application, from the press of the button.
      let answered: number | null = null;
      let watching = true;
      const watcher = (async () => {
        while (watching && answered === null) {
          const t = Date.now();
          if ((await fetch(app).catch(() => null))?.ok) answered = t;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      process.stdout.write = () => true;
      const pressed = Date.now();
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type="submit"]')]);
      await page.waitForFunction(
        (url) => (globalThis as unknown as { location: { href: string } }).location.href === url,
        { timeout: 600_000 },
        app,
      );
      const landed = Date.now();
      process.stdout.write = quiet;
      watching = false;
      await watcher;
      await server.idle();
      await page.close();
      // The inherent start: the wake's up as its own index row times it (what the estimate reads).
      const build = (await readWake(store, env))?.wake.build;
      const day = new Date().toISOString().slice(0, 10);
      const row = (await readDayRows({ env, store }, day, new Date())).rows.find(
        (r) => r.build === build && r.action === 'up',
      );
      if (!row?.endedAt || row.outcome !== 'succeeded')
        throw new Error(`the wake's up (build ${build}) has no succeeded index row: ${JSON.stringify(row)}`);
      const inherent = (Date.parse(row.endedAt) - Date.parse(row.startedAt)) / 1000;
      const total = (landed - pressed) / 1000;
      const app1 = answered === null ? Number.NaN : (answered - pressed) / 1000;
      const d = {
        total,
        inherent,
        appAnswered: app1,
        overhead: total - inherent,
        before: (Date.parse(row.startedAt) - pressed) / 1000,
        after: (landed - Date.parse(row.endedAt)) / 1000,
        afterApp: total - app1,
      };
      data.push(d);
      rows.push([
        i + 1,
        total.toFixed(2),
        inherent.toFixed(2),
        app1.toFixed(2),
        d.overhead.toFixed(2),
        d.before.toFixed(2),
        d.after.toFixed(2),
        d.afterApp.toFixed(2),
      ]);
    }
  } finally {
    process.stdout.write = quiet;
    await browser.close();
    await server.idle();
    await server.close();
    await idp.close();
    await sb.stop();
  }
  rows.push([
    'median',
    median(data.map((d) => d.total)).toFixed(2),
    median(data.map((d) => d.inherent)).toFixed(2),
    median(data.map((d) => d.appAnswered)).toFixed(2),
    median(data.map((d) => d.overhead)).toFixed(2),
    median(data.map((d) => d.before)).toFixed(2),
    median(data.map((d) => d.after)).toFixed(2),
    median(data.map((d) => d.afterApp)).toFixed(2),
  ]);
  table(
    'W1. Wake from the page on the sandbox, headless Chromium: seconds from pressing Wake (goal: overhead ≤ 1 s)',
    [
      'wake',
      'landed on the app',
      "the up's own duration",
      'app first answered',
      'overhead (landed − up)',
      'of which before the up',
      'after the up',
      'landed − app answered',
    ],
    rows,
  );
  results.wakePage = data;
}

/** Deterministic pseudo-random numbers (mulberry32), and a log-normal draw from them. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return {
    next,
    logNormal: (medianValue: number, sigma: number) => medianValue * Math.exp(sigma * normal()),
  };
}

async function etaBench(table: Table, results: Record<string, unknown>, warmUp = 5, wakes = 20) {
  const w = makeWorld();
  seedLegacyDown(w);
  const env = resolveEnvironment(w.config, 'alpha', 'dev');
  const store = w.deps.store(env);
  const rnd = random(20261206);
  const rows: (string | number)[][] = [];
  const errors: number[] = [];
  const within90: boolean[] = [];
  try {
    for (let i = 0; i < warmUp + wakes; i++) {
      // A night asleep, then the morning's wake.
      w.clock.advance(20 * 3600);
      const dbSeconds = Math.round(rnd.logNormal(300, 0.35));
      const appSeconds = Math.round(20 + rnd.next() * 40);
      const eta = await readEta(store, env, w.clock.now());
      // The deployed form: the database wait follows the RDS event (bench/waits.ts).
      const up = await simulate('up', true, dbSeconds, appSeconds, undefined, {
        world: w,
        build: `eta-up-${i}`,
      });
      const actual = up.runSeconds;
      await simulate('down', true, 120, 10, undefined, { world: w, build: `eta-down-${i}` });
      if (i < warmUp) continue;
      const error = eta ? Math.abs(eta.p50 - actual) / actual : Number.NaN;
      errors.push(error);
      within90.push(eta !== null && actual <= eta.p90);
      rows.push([
        i - warmUp + 1,
        eta ? `${eta.p50} / ${eta.p90} (${eta.samples})` : 'none',
        dbSeconds,
        Math.round(actual),
        `${(error * 100).toFixed(1)} %`,
      ]);
    }
  } finally {
    w.restore();
  }
  const p50 = quantile(errors, 0.5);
  const p90 = quantile(errors, 0.9);
  rows.push(['p50 error', '', '', '', `${(p50 * 100).toFixed(1)} %`]);
  rows.push(['p90 error', '', '', '', `${(p90 * 100).toFixed(1)} %`]);
  rows.push(['actual ≤ p90', '', '', '', `${within90.filter(Boolean).length}/${within90.length}`]);
  table(
    `W2. The page's estimate against the wake's actual duration, ${wakes} wakes after ${warmUp} ups of history (local engine, virtual clock; database start log-normal median 300 s, deployments 20-60 s); goal: p50 error ≤ 20 %`,
    ['wake', 'estimate p50 / p90 s (samples)', 'database start s', 'actual s', 'error'],
    rows,
  );
  results.wakeEta = { errors, p50, p90, within90: within90.filter(Boolean).length, wakes };
}

export async function wakeBench(table: Table, results: Record<string, unknown>): Promise<void> {
  // At most WAKE_RATE_LIMITS.perEnvironment wakes of one environment an hour: more would be refused.
  const rounds = Math.min(WAKE_RATE_LIMITS.perEnvironment, Number(process.env.CIM_BENCH_WAKE_ROUNDS ?? 4));
  if (process.env.CIM_BENCH_WAKE_SANDBOX !== '0') await pageBench(table, results, rounds);
  await etaBench(table, results);
}
