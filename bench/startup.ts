// P3 (issue 11): what a run costs before it does anything.
//  - every Lambda bundle (same esbuild options as the stack): its size and the time to import
//    it in a fresh Node process (median of `runs` processes);
//  - `cim --help`: wall time of the whole process, and its peak RSS;
//  - `cim status`: time from spawning the process to its first request (a local HTTP server
//    stands in for S3, RDS and the API server and answers 403, so the run ends at once), and
//    the peak RSS of that process.
// Each `cim` is `node bin/cim.mjs` as CI runs it; RSS comes from a preload that writes the
// process's VmHWM at exit (no external tool needed). bin/cim.mjs keeps V8's
// compile cache in dist/cli: status is measured with it (every run after the first on a
// machine) and without it (NODE_DISABLE_COMPILE_CACHE=1: the first run after a build).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FleetFunctions, GuardFunctions, TaskFunctions } from '#core/steps';
import { bundleHandler } from '#infra/bundling';

type Table = (title: string, head: string[], rows: (string | number)[][]) => void;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Goals of issue 11 on this machine. */
export const P3_GOALS = {
  bundleBytes: 1.5 * 1024 * 1024,
  importMs: 250,
  helpMs: 300,
  statusFirstRequestMs: 500,
};

export async function bundles(root: string, runs: number) {
  const out = join(root, '.cache', 'bench-bundles');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const ids = [...Object.keys(TaskFunctions), ...Object.keys(FleetFunctions), ...Object.keys(GuardFunctions)];
  const data: Record<string, { bytes: number; importMs: number; importRunsMs: number[] }> = {};
  for (const id of ids) {
    const file = join(out, `${id}.mjs`);
    await bundleHandler(join(root, 'lambdas/handlers', `${id}.ts`), file);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ms = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const t=performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now()-t)`,
        ],
        { env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' } },
      );
      times.push(Number(ms.toString().trim()));
    }
    data[id] = { bytes: statSync(file).size, importMs: median(times), importRunsMs: times };
  }
  return data;
}

interface CimRun {
  wallMs: number;
  firstRequestMs: number | null;
  maxRssKiB: number;
  exitCode: number | null;
}

/** One `node bin/cim.mjs ...` process; times are from just before the spawn. */
function cim(
  root: string,
  dir: string,
  args: string[],
  env: Record<string, string>,
  firstRequest: () => number | null,
): Promise<CimRun> {
  const rssFile = join(dir, `rss-${process.hrtime.bigint()}`);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(join(dir, 'rss-probe.mjs')).href, join(root, 'bin', 'cim.mjs'), ...args],
    { cwd: root, env: { ...process.env, ...env, CIM_BENCH_RSS_FILE: rssFile }, stdio: 'ignore' },
  );
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = performance.now() - t0;
      const first = firstRequest();
      resolve({
        wallMs,
        firstRequestMs: first === null ? null : first - t0,
        maxRssKiB: Number(readFileSync(rssFile, 'utf8')),
        exitCode: code,
      });
    });
  });
}

export async function cliStartup(root: string, runs: number) {
  const dir = join(root, '.cache', 'bench-startup');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'rss-probe.mjs'),
    // VmHWM (this process image's peak): resourceUsage().maxRSS keeps the peak of the image
    // before exec, i.e. of the bench process that spawned it, on Linux.
    [
      "import { readFileSync, writeFileSync } from 'node:fs';",
      "const hwm = () => { try { return Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]); } catch { return NaN; } };",
      "process.on('exit', () => { const k = hwm(); writeFileSync(process.env.CIM_BENCH_RSS_FILE, String(Number.isFinite(k) ? k : process.resourceUsage().maxRSS)); });",
      '',
    ].join('\n'),
  );
  // Stands in for S3, RDS and the Kubernetes API: records when the first request arrives.
  let first: number | null = null;
  const server = createServer((req, res) => {
    first ??= performance.now();
    req.resume();
    if (req.url?.startsWith('/api')) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"kind":"Status","status":"Failure","code":403,"reason":"Forbidden","message":"bench"}');
    } else {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>bench</Message></Error>');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: bench, cluster: { server: "${endpoint}" } }]
users: [{ name: bench, user: { token: bench } }]
contexts: [{ name: bench, context: { cluster: bench, user: bench } }]
current-context: bench
`,
  );
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: 'us-east-1',
    AWS_MAX_ATTEMPTS: '1',
    KUBECONFIG: kubeconfig,
    NO_COLOR: '1',
  };
  const status = [
    'status',
    '--customer',
    'alpha',
    '--env',
    'dev',
    '--config',
    join(root, 'environments.yaml'),
  ];
  const help: CimRun[] = [];
  const stat: CimRun[] = [];
  const statCold: CimRun[] = [];
  try {
    // One warm-up each (file system cache), not counted.
    await cim(root, dir, ['--help'], env, () => null);
    for (let i = 0; i < runs; i++) help.push(await cim(root, dir, ['--help'], env, () => null));
    first = null;
    await cim(root, dir, status, env, () => first);
    for (let i = 0; i < runs; i++) {
      first = null;
      stat.push(await cim(root, dir, status, env, () => first));
    }
    // The first run on a machine (or after a build): no compiled code cached yet.
    for (let i = 0; i < runs; i++) {
      first = null;
      statCold.push(await cim(root, dir, status, { ...env, NODE_DISABLE_COMPILE_CACHE: '1' }, () => first));
    }
  } finally {
    server.close();
  }
  const noRequest = [...stat, ...statCold].filter((r) => r.firstRequestMs === null);
  if (noRequest.length)
    throw new Error(
      `cim status made no request in ${noRequest.length} of ${runs} runs (exit ${noRequest[0]?.exitCode})`,
    );
  return {
    help: {
      wallMs: median(help.map((r) => r.wallMs)),
      maxRssMiB: median(help.map((r) => r.maxRssKiB)) / 1024,
      runsMs: help.map((r) => Math.round(r.wallMs)),
    },
    status: {
      firstRequestMs: median(stat.map((r) => r.firstRequestMs ?? 0)),
      wallMs: median(stat.map((r) => r.wallMs)),
      maxRssMiB: median(stat.map((r) => r.maxRssKiB)) / 1024,
      runsMs: stat.map((r) => Math.round(r.firstRequestMs ?? 0)),
    },
    statusWithoutCompileCache: {
      firstRequestMs: median(statCold.map((r) => r.firstRequestMs ?? 0)),
      maxRssMiB: median(statCold.map((r) => r.maxRssKiB)) / 1024,
      runsMs: statCold.map((r) => Math.round(r.firstRequestMs ?? 0)),
    },
  };
}

export async function startupBench(table: Table, results: Record<string, unknown>, root: string, runs = 7) {
  const fns = await bundles(root, runs);
  const ok = (good: boolean) => (good ? 'yes' : 'NO');
  table(
    `P3a. Lambda bundles (esbuild as the stack bundles them): size, cold import (median of ${runs} fresh node processes)`,
    ['function', 'KiB', 'import ms', `≤ ${P3_GOALS.bundleBytes / 1024} KiB and ≤ ${P3_GOALS.importMs} ms`],
    Object.entries(fns).map(([id, f]) => [
      id,
      (f.bytes / 1024).toFixed(0),
      f.importMs.toFixed(0),
      ok(f.bytes <= P3_GOALS.bundleBytes && f.importMs <= P3_GOALS.importMs),
    ]),
  );
  const cli = await cliStartup(root, runs);
  table(
    `P3b. cim start-up (node bin/cim.mjs, median of ${runs} processes after one warm-up)`,
    ['command', 'measured', 'ms', 'goal ms', 'peak RSS MiB', 'runs ms'],
    [
      [
        'cim --help',
        'spawn to exit',
        cli.help.wallMs.toFixed(0),
        P3_GOALS.helpMs,
        cli.help.maxRssMiB.toFixed(0),
        cli.help.runsMs.join(' '),
      ],
      [
        'cim status',
        'spawn to first request',
        cli.status.firstRequestMs.toFixed(0),
        P3_GOALS.statusFirstRequestMs,
        cli.status.maxRssMiB.toFixed(0),
        cli.status.runsMs.join(' '),
      ],
      [
        'cim status, no compile cache',
        'spawn to first request',
        cli.statusWithoutCompileCache.firstRequestMs.toFixed(0),
        P3_GOALS.statusFirstRequestMs,
        cli.statusWithoutCompileCache.maxRssMiB.toFixed(0),
        cli.statusWithoutCompileCache.runsMs.join(' '),
      ],
    ],
  );
  results.startup = { runs, goals: P3_GOALS, bundles: fns, cli };
}
