// The report benchmark (issue 18, `npm run bench -- report`): N environments (2,000) × 30
// nights (a scheduled down and a person's up each night) seeded as index rows, plus the
// records buildReport reads (actions.json, the last down's pre-state), in ONE state bucket (as
// deployed). The report is built twice: cold (every day listed per environment, the past days
// then sealed) and warm (the sealed days read per bucket: day-seals.ts). Wall time, peak RSS
// and S3 requests by kind, and the time those requests take on S3 at 48 in flight
// (read-budget.ts) for two per-request latencies. First in memory (buildReport's own cost), then
// in moto_server (the sandbox's S3 peer, alone; ~250 requests/s, one Python process: its
// figures are moto's, so it runs on CIM_BENCH_REPORT_MOTO_ENVS environments, default 150);
// then 60 older nights are added and the warm report run again: its requests must not grow.
// Measured 2026-12-06, 2 shared cores (CI running beside it), 2,000 environments in memory:
// cold 66,030 LIST + 126,000 GET + 30 PUT (80 s on S3 at 20 ms), warm 6,030 LIST + 12,030 GET
// (8 s at 20 ms), build 2-3 s, peak RSS ~570-730 MiB with the 190,000 objects in the same
// process; moto, 150 environments (before drift's LIST): cold 158 s, warm 14 s, and warm with 60
// older nights the same requests.
import { type ChildProcess, spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3StateStore } from '#core/clients/s3-store';
import type { Environment } from '#core/config/schema';
import type { StateStore, StoredJson } from '#core/gateways/store';
import { indexKey } from '#core/records/run-index';
import { buildReport, type IndexRead, type ReportSource } from '#core/report/build';
import type { RunRow } from '#core/report/model';
import { renderReportPage } from '#core/report/page';
import { reportPrices } from '#core/report/prices';
import { REQUESTS_IN_FLIGHT } from '#core/report/read-budget';

type Table = (title: string, head: string[], rows: (string | number)[][]) => void;

const here = dirname(fileURLToPath(import.meta.url));
const DAY_MS = 86_400_000;
const NOW = new Date('2026-12-06T06:00:00.000Z');
const SEED_CONCURRENCY = Number(process.env.CIM_BENCH_REPORT_SEED_CONCURRENCY ?? 32);

const freePort = () =>
  new Promise<number>((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });

async function startMoto(): Promise<{ endpoint: string; proc: ChildProcess }> {
  const { buildPeers, waitFor } = await import('../sandbox/sandbox.ts');
  const bin = buildPeers();
  const port = await freePort();
  const python = join(dirname(realpathSync(join(bin, 'moto_server'))), 'python');
  const proc = spawn(
    python,
    [resolve(here, '../sandbox/moto-serialized.py'), '-H', '127.0.0.1', '-p', String(port)],
    {
      stdio: 'ignore',
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('moto', async () => (await fetch(`${endpoint}/moto-api/`)).status < 500);
  return { endpoint, proc };
}

/** A client of the moto peer (the report counts its own requests: IndexRead.requests). */
function motoClient(endpoint: string) {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  return { s3 };
}

/**
 * A Map-backed store: buildReport's own cost, without any S3. Keys are also indexed by their
 * folder, so listing a day's folder is not a scan of the 190,000 keys (S3 does not scan either).
 */
class MemoryStore implements StateStore {
  readonly objects = new Map<string, string>();
  private readonly folders = new Map<string, Set<string>>();
  constructor(readonly bucket: string) {}
  async getJson(key: string): Promise<StoredJson | null> {
    const t = this.objects.get(key);
    return t === undefined ? null : { json: JSON.parse(t), etag: '"x"' };
  }
  async putJson(key: string, value: unknown) {
    this.objects.set(key, JSON.stringify(value));
    const folder = key.slice(0, key.lastIndexOf('/') + 1);
    const set = this.folders.get(folder) ?? new Set<string>();
    set.add(key);
    this.folders.set(folder, set);
    return { etag: '"x"' };
  }
  async deleteObject(key: string) {
    this.objects.delete(key);
    this.folders.get(key.slice(0, key.lastIndexOf('/') + 1))?.delete(key);
  }
  /** The keys directly in a folder (what the report lists: a day's rows, a day's seals). */
  async listKeys(prefix: string, limit = 1000) {
    return [...(this.folders.get(prefix) ?? [])].sort().slice(0, limit);
  }
}

const BUCKET = 'cim-bench';

const envOf = (i: number): Environment =>
  ({
    customer: `c${Math.floor(i / 10)}`,
    environment: `e${i % 10}`,
    region: 'us-east-1',
    bucket: BUCKET,
    bucketRegion: 'us-east-1',
    keyPrefix: `c${Math.floor(i / 10)}/e${i % 10}`,
    namespace: `c${Math.floor(i / 10)}-e${i % 10}`,
    database: { kind: 'instance', identifier: `c${i}-db` },
  }) as Environment;

const iso = (ms: number) => new Date(ms).toISOString();

/** The objects of one environment's nights [fromNight, toNight) counted back from NOW. */
function nightObjects(env: Environment, fromNight: number, toNight: number) {
  const out: { key: string; value: unknown }[] = [];
  const who = { customer: env.customer, environment: env.environment };
  for (let n = fromNight; n < toNight; n++) {
    // Night n: a down at 22:00 the evening n+1 days before NOW's day, an up at 07:00 after it.
    const evening = Date.parse(`${NOW.toISOString().slice(0, 10)}T22:00:00.000Z`) - (n + 1) * DAY_MS;
    const down: RunRow = {
      ...who,
      action: 'down',
      build: `d${n}`,
      trigger: 'schedule',
      user: 'schedule:nightly',
      startedAt: iso(evening),
      endedAt: iso(evening + 240_000 + (n % 7) * 10_000),
      outcome: 'succeeded',
      recordKey: `${env.keyPrefix}/history/d${n}/actions.json`,
    };
    const upAt = evening + 9 * 3_600_000;
    const up: RunRow = {
      ...down,
      action: 'up',
      build: `u${n}`,
      user: 'alice',
      trigger: 'cli',
      startedAt: iso(upAt),
      endedAt: iso(upAt + 480_000),
      recordKey: `${env.keyPrefix}/history/u${n}/actions.json`,
    };
    // NOW is 06:00: last night's up has not happened yet.
    out.push({ key: indexKey(env.keyPrefix, down), value: down });
    if (upAt < NOW.getTime()) out.push({ key: indexKey(env.keyPrefix, up), value: up });
  }
  return out;
}

/** The latest records: asleep since last night's down, whose pre-state gives the facts. */
function latestObjects(env: Environment) {
  return [
    {
      key: `${env.keyPrefix}/actions.json`,
      value: {
        timestamp: NOW.toISOString().replace(/\.\d+Z$/, 'Z'),
        jenkins_build: 'd0',
        jenkins_user: 'schedule:nightly',
        customer: env.customer,
        environment: env.environment,
        desired_state: 'down',
        result: 'succeeded',
        last_change: {
          desired_state: 'down',
          jenkins_build: 'd0',
          result: 'succeeded',
          restore_point_build: 'd0',
        },
      },
    },
    {
      key: `${env.keyPrefix}/history/d0/pre-state.json`,
      value: {
        k8s_deployments: {
          api: {
            deployment_namespace: env.namespace,
            deployment_exists: true,
            deployment_replicas: 2,
            pod_requests: { cpu_cores: 0.5, memory_bytes: 1024 ** 3 },
          },
        },
        aws_rds: {
          rds_identifier: env.database.identifier,
          rds_exists: true,
          rds_state: 'available',
          rds_engine: 'postgres',
          rds_instance_class: 'db.m5.large',
          rds_multi_az: false,
        },
        timestamp: NOW.toISOString().replace(/\.\d+Z$/, 'Z'),
        jenkins_build: 'd0',
      },
    },
  ];
}

async function mapBounded<T>(items: readonly T[], n: number, fn: (t: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

async function seed(stores: StateStore[], envs: Environment[], from: number, to: number, latest: boolean) {
  const jobs: { store: StateStore; key: string; value: unknown }[] = [];
  envs.forEach((env, i) => {
    const store = stores[i] as StateStore;
    for (const o of nightObjects(env, from, to)) jobs.push({ store, ...o });
    if (latest) for (const o of latestObjects(env)) jobs.push({ store, ...o });
  });
  const t0 = performance.now();
  await mapBounded(jobs, SEED_CONCURRENCY, (j) => j.store.putJson(j.key, j.value));
  return { objects: jobs.length, seconds: (performance.now() - t0) / 1000 };
}

async function timeReport(sources: ReportSource[], days: number) {
  if (global.gc) global.gc();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const t0 = performance.now();
  let index: IndexRead | undefined;
  const model = await buildReport({
    environments: sources,
    days,
    now: NOW,
    prices: reportPrices(),
    onIndexRead: (r) => {
      index = r;
    },
  });
  const built = performance.now();
  const page = renderReportPage(model);
  const t1 = performance.now();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const runs = model.timelines.reduce((n, t) => n + t.runs.length, 0);
  return {
    buildSeconds: (built - t0) / 1000,
    renderSeconds: (t1 - built) / 1000,
    seconds: (t1 - t0) / 1000,
    peakRssMiB: peak / 2 ** 20,
    rssBeforeMiB: base / 2 ** 20,
    pageBytes: Buffer.byteLength(page),
    runsInRange: runs,
    exclusions: model.exclusions.length,
    index: index as IndexRead,
  };
}

/** Seconds the report's requests take on S3 at REQUESTS_IN_FLIGHT, at a per-request latency. */
const onS3 = (r: IndexRead, latencyMs: number) => {
  const q = r.requests;
  return (((q.list + q.get + q.put) / REQUESTS_IN_FLIGHT) * latencyMs) / 1000;
};

type Timed = Awaited<ReturnType<typeof timeReport>>;
const row = (label: string, history: number, r: Timed): (string | number)[] => [
  label,
  history,
  r.runsInRange,
  r.buildSeconds.toFixed(1),
  r.renderSeconds.toFixed(1),
  r.peakRssMiB.toFixed(0),
  `${r.index.sealedDays}/${r.index.listedDays}`,
  r.index.requests.list,
  r.index.requests.get,
  r.index.requests.put,
  onS3(r.index, 20).toFixed(0),
  onS3(r.index, 100).toFixed(0),
];

/** The same reports against moto (the sandbox's S3 peer), on fewer environments. */
async function motoPart(
  envs: Environment[],
  nights: number,
  older: number,
  rows: (string | number)[][],
  data: Record<string, unknown>,
) {
  const moto = await startMoto();
  try {
    const { s3 } = motoClient(moto.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const store = new S3StateStore(s3, BUCKET);
    const sources = envs.map((env) => ({ env, store: store as StateStore }));
    const seeded = await seed(
      envs.map(() => store),
      envs,
      0,
      nights,
      true,
    );
    data.seed30 = seeded;
    process.stderr.write(`[bench] seeded ${seeded.objects} objects in ${seeded.seconds.toFixed(0)} s\n`);
    const motoCold = await timeReport(sources, nights);
    const motoWarm = await timeReport(sources, nights);
    rows.push(
      row(`moto, cold (${envs.length} envs)`, nights, motoCold),
      row(`moto, warm (${envs.length} envs)`, nights, motoWarm),
    );
    data.moto30 = { cold: motoCold, warm: motoWarm };
    if (older > 0) {
      const more = await seed(
        envs.map(() => store),
        envs,
        nights,
        nights + older,
        false,
      );
      data.seedOlder = more;
      process.stderr.write(`[bench] seeded ${more.objects} older objects in ${more.seconds.toFixed(0)} s\n`);
      const again = await timeReport(sources, nights);
      rows.push(row(`moto, warm, +${older} older nights`, nights + older, again));
      data.motoAll = again;
    }
  } finally {
    moto.proc.kill();
  }
}

export async function reportBench(table: Table, results: Record<string, unknown>) {
  const n = Number(process.env.CIM_BENCH_REPORT_ENVS ?? 2000);
  const nights = 30;
  const older = Number(process.env.CIM_BENCH_REPORT_OLDER ?? 60);
  const envs = Array.from({ length: n }, (_, i) => envOf(i));
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = { environments: n, nights, olderNights: older };

  // In memory first: buildReport's own time and memory, no S3; cold, then warm (sealed).
  const mem = new MemoryStore(BUCKET);
  await seed(
    envs.map(() => mem),
    envs,
    0,
    nights,
    true,
  );
  const memSources = envs.map((env) => ({ env, store: mem as StateStore }));
  const cold = await timeReport(memSources, nights);
  const warm = await timeReport(memSources, nights);
  data.inMemory = { cold, warm };
  rows.push(
    row(`in memory, cold (${n} envs)`, nights, cold),
    row(`in memory, warm (${n} envs)`, nights, warm),
  );

  // moto answers ~250 requests/s on this machine: CIM_BENCH_REPORT_MOTO_ENVS runs the S3 part
  // on fewer environments when the full seeding (360,000 PUTs) does not fit the time there is.
  const m = Number(process.env.CIM_BENCH_REPORT_MOTO_ENVS ?? 150);
  envs.length = Math.min(m, n);
  data.motoEnvironments = envs.length;
  // CIM_BENCH_REPORT_MOTO_ENVS=0: the in-memory part alone (request counts need no S3).
  if (envs.length > 0) await motoPart(envs, nights, older, rows, data);
  table(
    `R5. cim report over 30 days: ${n} environments, a down and an up a night (goals: warm ≤ 30 s on S3 at 20 ms, ≤ 500 MiB; seeding not counted)`,
    [
      'store',
      'nights stored',
      'runs in range',
      'build s',
      'render s',
      'peak RSS MiB',
      'env-days sealed/listed',
      'LIST',
      'GET',
      'PUT',
      's on S3 @20 ms',
      's on S3 @100 ms',
    ],
    rows,
  );
  results.report = data;
}
