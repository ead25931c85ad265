// The randomized property of down/up, one cycle at a time, against the real peers. Shared by
// test/integration/property.test.ts (a few cycles) and bench/property.ts (many), so it takes
// the sandbox as an argument and never imports vitest.
//
// The property: after every `up`, each deployment is at the count it had before the cycle's
// first `down`, whatever happened in between (a `cim down` SIGKILLed at a random point, an
// unlock, a second down), except a deployment someone scaled while the environment was
// down, which is left at that count and reported in the action record's `skipped`. The up
// may be a wake on demand (`cim wake`, issue 19), and the wake may then expire: its TTL's down
// (`cim wake --sweep` once its until has passed) puts every deployment to 0, and the next up
// brings back the counts the wake's up had restored.
//
// Every random draw of a cycle is made up front, in a fixed order, so a seed replays the same
// plan (the exact instant a kill lands still depends on the machine).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { wake as wakeCommand } from '#cli/commands/wake';
import { type LocalRun, runLocal } from '#cli/engine/local-environment';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { recordKeys } from '#core/gateways/store';
import { type UnlockOutcome, unlockEnvironment } from '#core/records/lock';
import { environmentLedgerKey } from '#core/records/wake-ledger';
import { WaitSteps } from '#core/steps';
import { makeDeps } from '#core/wiring';
import { SANDBOX_ENVIRONMENTS, type SandboxInfo, waitFor } from '../../sandbox/sandbox.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// cim needs Node 22: this one, or the project's pinned node when started by an older one.
const cimNode =
  Number(process.versions.node.split('.')[0]) >= 22
    ? process.execPath
    : join(root, 'node_modules', '.bin', 'node');

/** The variables `npm run sandbox` prints: what a shell running `cim` against the sandbox has. */
export function sandboxEnv(info: SandboxInfo): Record<string, string> {
  return {
    KUBECONFIG: info.orchestratorKubeconfig,
    CIM_CONFIG_FILE: info.configFile,
    AWS_ENDPOINT_URL: info.awsEndpoint,
    AWS_ACCESS_KEY_ID: 'sandbox',
    AWS_SECRET_ACCESS_KEY: 'sandbox',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
}

export interface CimExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Date.now() when the process was spawned and when it exited. */
  startedAt: number;
  endedAt: number;
}

export interface CimProcess {
  child: ChildProcess;
  pid: number;
  /** stdout lines so far, in order. */
  lines: string[];
  exited: Promise<CimExit>;
  /** Resolves with the index of the first stdout line matching `re`; rejects if the process ends first. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<number>;
}

/** Spawns `cim ...` (bin/cim.mjs on this Node) like a CI job would, with the sandbox's exports. */
export function spawnCim(info: SandboxInfo, args: string[], env: Record<string, string> = {}): CimProcess {
  const startedAt = Date.now();
  const child = spawn(cimNode, [join(root, 'bin', 'cim.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, ...sandboxEnv(info), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lines: string[] = [];
  const watchers = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of watchers) w();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let ended = false;
  const exited = new Promise<CimExit>((res) => {
    child.once('close', (code, signal) => {
      ended = true;
      if (partial) lines.push(partial);
      for (const w of watchers) w();
      res({ code, signal, stdout, stderr, startedAt, endedAt: Date.now() });
    });
  });
  const waitForLine = (re: RegExp, timeoutMs = 120_000) =>
    new Promise<number>((res, rej) => {
      const timer = setTimeout(() => {
        watchers.delete(check);
        rej(new Error(`cim ${args.join(' ')}: no line matching ${re} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        const i = lines.findIndex((l) => re.test(l));
        if (i >= 0 || ended) {
          clearTimeout(timer);
          watchers.delete(check);
          if (i >= 0) res(i);
          else rej(new Error(`cim ${args.join(' ')} ended before printing ${re}:\n${stdout}\n${stderr}`));
        }
      };
      watchers.add(check);
      check();
    });
  return { child, pid: child.pid ?? -1, lines, exited, waitForLine };
}

/** Runs `cim ...` to the end. */
export const cimRun = (info: SandboxInfo, args: string[], env: Record<string, string> = {}) =>
  spawnCim(info, args, env).exited;

/** mulberry32: small, seedable, the same sequence on every machine. */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const float = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(float() * (hi - lo + 1));
  return {
    float,
    int,
    chance: (p: number) => float() < p,
    pick: <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T,
  };
}
export type Random = ReturnType<typeof seededRandom>;

export const PROPERTY_ENV = { customer: 'prop', environment: 'dev' } as const;
const seeded = SANDBOX_ENVIRONMENTS['prop/dev'];

export interface PropertyWorld {
  info: SandboxInfo;
  namespace: string;
  deployments: string[];
  prefix: string;
  apps: AppsV1Api;
  s3: S3Client;
  /** down/up in this process with the real handlers; Wait states shortened to keep cycles fast. */
  run(action: 'down' | 'up', build: string): Promise<LocalRun>;
  /** `cim unlock`, with the CLI's rule for local holders: same host and the pid is gone. */
  unlock(): Promise<UnlockOutcome>;
  json(key: string): Promise<any>;
  keys(prefix: string): Promise<string[]>;
  /** Arrange: empties the environment's wake rate-limit ledger (long runs wake it more than 4 times an hour). */
  clearWakeLedger(): Promise<void>;
  /** `cim wake --sweep` in this process as its clock says it is `at`: the TTL's down of an expired wake. */
  sweep(at: Date): Promise<number>;
  /** A run id that keeps build ids unique when the same sandbox sees several runs. */
  runId: string;
}

const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export function propertyWorld(info: SandboxInfo): PropertyWorld {
  // The in-process runs build their AWS clients from the environment, as the CLI does.
  Object.assign(process.env, sandboxEnv(info));
  const config = loadConfigFile(info.configFile);
  const env = resolveEnvironment(config, PROPERTY_ENV.customer, PROPERTY_ENV.environment, info.configFile);
  const admin = new KubeConfig();
  admin.loadFromFile(info.adminKubeconfig);
  const apps = admin.makeApiClient(AppsV1Api);
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: info.awsEndpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });
  const keysOf = recordKeys(env, '_');
  const fastWaits = Object.fromEntries(WaitSteps.map((s) => [s, 300]));
  const quiet = { info: () => undefined, warn: () => undefined };
  return {
    info,
    namespace: seeded.namespace,
    deployments: Object.keys(seeded.deployments),
    prefix: env.keyPrefix,
    apps,
    s3,
    runId: randomBytes(3).toString('hex'),
    run: (action, build) => {
      const deps = makeDeps({
        config,
        configSource: info.configFile,
        kube: kubeconfigKube(config, info.orchestratorKubeconfig),
        log: quiet,
      });
      deps.runner = { host: hostname(), pid: process.pid };
      return runLocal({
        deps,
        input: { action, ...PROPERTY_ENV, build, user: 'property-test' },
        executionId: `local:${hostname()}:${process.pid}:${build}:${randomBytes(3).toString('hex')}`,
        waitOverrides: fastWaits,
      });
    },
    unlock: () =>
      unlockEnvironment(
        new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket),
        keysOf.lock,
        { host: hostname(), processAlive },
        new Date(),
      ),
    json: async (key) => {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: info.bucket, Key: key }));
        return JSON.parse((await out.Body?.transformToString()) ?? 'null');
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return null;
        throw err;
      }
    },
    keys: async (prefix) => {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: info.bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key as string).sort();
    },
    clearWakeLedger: async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: info.bucket, Key: environmentLedgerKey(env) }));
    },
    sweep: async (at) => {
      const write = process.stdout.write;
      process.stdout.write = () => true;
      try {
        return await wakeCommand(
          {
            command: 'wake',
            configPath: info.configFile,
            json: true,
            color: false,
            mode: 'sweep',
            customer: PROPERTY_ENV.customer,
            environment: PROPERTY_ENV.environment,
            select: undefined,
            duration: undefined,
            user: 'property-test',
            kubeconfig: info.orchestratorKubeconfig,
            context: undefined,
            remote: false,
            stateMachineArn: undefined,
          },
          () => at,
        );
      } finally {
        process.stdout.write = write;
      }
    },
  };
}

/** The cim down progress lines, in the order a run prints them (line 0 is the header). */
const DOWN_LINES = 9;

export interface CyclePlan {
  counts: Record<string, number>;
  /** Kill `cim down` with SIGKILL `delayMs` after it printed stdout line `afterLine`. */
  kill: { afterLine: number; delayMs: number } | null;
  drift: { deployment: string; to: number } | null;
  /** The up is a `cim wake`; `expires`: its TTL's down follows, then an ordinary up. */
  wake: { expires: boolean } | null;
}

export function planCycle(w: PropertyWorld, r: Random): CyclePlan {
  const counts = Object.fromEntries(w.deployments.map((d) => [d, r.int(0, 4)]));
  const killIt = r.chance(0.6);
  // Up to "Check database stopped": the kill then lands in Record result at the latest.
  const afterLine = r.int(0, DOWN_LINES - 2);
  // Line 4 is the first "Check deployments stopped", followed by a 5 s Wait: kill anywhere in it.
  const delayMs = r.int(0, afterLine === 4 ? 5000 : 400);
  const driftIt = r.chance(0.5);
  const deployment = r.pick(w.deployments);
  const to = r.int(0, 4);
  const wakeIt = r.chance(0.5);
  const expires = r.chance(0.5);
  return {
    counts,
    kill: killIt ? { afterLine, delayMs } : null,
    drift: driftIt ? { deployment, to } : null,
    wake: wakeIt ? { expires } : null,
  };
}

export interface CycleReport {
  cycle: number;
  plan: CyclePlan;
  /** What happened to the killed `cim down`: where it was, whether it had written its intent. */
  kill: {
    landed: boolean;
    lastLine: string;
    exit: string;
    intentWritten: boolean;
    lockLeft: boolean;
    unlock: UnlockOutcome['status'] | null;
  } | null;
  downs: string[];
  restorePoint: string | null;
  /** The drift counts when it really is one (not 0, not the recorded count: those are restored). */
  effectiveDrift: boolean;
  restored: number;
  violations: string[];
  seconds: number;
}

async function specOf(w: PropertyWorld, name: string) {
  const d = await w.apps.readNamespacedDeployment({ namespace: w.namespace, name });
  return {
    spec: d.spec?.replicas ?? 0,
    replicas: d.status?.replicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
  };
}

async function scaleTo(w: PropertyWorld, name: string, value: number) {
  await w.apps.patchNamespacedDeploymentScale({
    namespace: w.namespace,
    name,
    body: [{ op: 'replace', path: '/spec/replicas', value }],
  });
}

/** One cycle: set counts, down (maybe killed, unlocked, downed again), maybe drift, up, check. */
export async function runCycle(w: PropertyWorld, r: Random, cycle: number): Promise<CycleReport> {
  const t0 = Date.now();
  const plan = planCycle(w, r);
  const violations: string[] = [];
  const report: CycleReport = {
    cycle,
    plan,
    kill: null,
    downs: [],
    restorePoint: null,
    effectiveDrift: false,
    restored: 0,
    violations,
    seconds: 0,
  };
  const done = () => ({ ...report, seconds: (Date.now() - t0) / 1000 });
  const build = (what: string) => `p${w.runId}-c${cycle}-${what}`;
  const actionsKey = `${w.prefix}/actions.json`;
  const lockKey = `${w.prefix}/lock.json`;

  // Arrange: the counts this cycle must get back, settled (a deployment at 0 has no pods left).
  for (const [name, n] of Object.entries(plan.counts)) await scaleTo(w, name, n);
  await waitFor(
    `prop-dev deployments settled at ${JSON.stringify(plan.counts)}`,
    async () => {
      for (const [name, n] of Object.entries(plan.counts)) {
        const s = await specOf(w, name);
        if (s.spec !== n || s.replicas !== n || s.available !== n || s.ready !== n) return false;
      }
      return true;
    },
    90_000,
  );

  // The first down: a real `cim down` killed at a random point, or an in-process one.
  const first = build('d1');
  if (plan.kill) {
    const { afterLine, delayMs } = plan.kill;
    const p = spawnCim(w.info, ['down', '--customer', 'prop', '--env', 'dev', '--build', first]);
    let landed = false;
    const ended = () => p.child.exitCode !== null || p.child.signalCode !== null;
    const killer = (async () => {
      await waitFor(
        `cim down to print line ${afterLine}`,
        async () => p.lines.length > afterLine || ended(),
        120_000,
        20,
      );
      await new Promise((res) => setTimeout(res, delayMs));
      if (!ended()) landed = p.child.kill('SIGKILL');
    })().catch((err: Error) => {
      p.child.kill('SIGKILL');
      violations.push(`cim down hung: ${err.message}`);
    });
    const exit = await p.exited;
    await killer;
    landed = landed && exit.signal === 'SIGKILL';
    // Progress lines name a state ("  Record intent"); the JSON sections printed at the end do not.
    const lastLine =
      p.lines.filter((l) => /^ {2}[A-Z]/.test(l) || l.startsWith('cim ')).at(-1) ?? '(nothing)';
    const latest = await w.json(actionsKey);
    const intentWritten = latest?.jenkins_build === first;
    const lockLeft = (await w.keys(lockKey)).length > 0;
    let unlock: UnlockOutcome['status'] | null = null;
    if (lockLeft) {
      const outcome = await w.unlock();
      unlock = outcome.status;
      if (outcome.status === 'refused')
        violations.push(`unlock refused after the holder was killed: ${outcome.why}`);
    }
    if (!landed && exit.code !== 0)
      violations.push(`the down that was not killed exited ${exit.code}: ${exit.stderr || exit.stdout}`);
    report.kill = {
      landed,
      // The step it had finished: "Record intent", "Check deployments stopped", ...
      lastLine: lastLine.startsWith('cim ') ? 'start' : lastLine.replace(/[:(].*$/, '').trim(),
      exit: exit.signal ?? String(exit.code),
      intentWritten,
      lockLeft,
      unlock,
    };
    if (intentWritten || !landed) report.downs.push(first);
  } else {
    const down = await w.run('down', first);
    if (down.status !== 'SUCCEEDED') violations.push(`down ${first} failed: ${JSON.stringify(down.error)}`);
    report.downs.push(first);
  }
  if (violations.length) return done();

  // The next step an operator takes: down again unless the last change is a succeeded down.
  const last = (await w.json(actionsKey))?.last_change;
  if (!(last?.desired_state === 'down' && last?.result === 'succeeded')) {
    const second = build('d2');
    const down = await w.run('down', second);
    if (down.status !== 'SUCCEEDED') {
      violations.push(`down ${second} after the kill failed: ${JSON.stringify(down.error)}`);
      return done();
    }
    report.downs.push(second);
  }
  // The restore point is the first down that recorded its intent.
  const restorePoint = report.downs[0] as string;
  report.restorePoint = restorePoint;
  for (const name of w.deployments) {
    const s = await specOf(w, name);
    if (s.spec !== 0) violations.push(`${name} at ${s.spec} after the down, not 0`);
  }

  // Drift while down: someone scales one deployment by hand.
  if (plan.drift) {
    await scaleTo(w, plan.drift.deployment, plan.drift.to);
    report.effectiveDrift = plan.drift.to !== 0 && plan.drift.to !== plan.counts[plan.drift.deployment];
  }

  let upBuild = build('u');
  let woke: { build: string; until: string; user: string } | null = null;
  if (plan.wake) {
    // The up is a wake on demand, a `cim wake` process as a person runs it.
    await w.clearWakeLedger();
    const user = `prop-${w.runId}-c${cycle}`;
    const exit = await cimRun(w.info, [
      'wake',
      '--customer',
      'prop',
      '--env',
      'dev',
      '--for',
      '1h',
      '--user',
      user,
    ]);
    woke = await w.json(`${w.prefix}/wake.json`);
    if (exit.code !== 0 || woke?.user !== user) {
      violations.push(`cim wake exited ${exit.code} (wake.json ${JSON.stringify(woke)}): ${exit.stderr}`);
      return done();
    }
    upBuild = woke.build;
  } else {
    const up = await w.run('up', upBuild);
    if (up.status !== 'SUCCEEDED') {
      violations.push(`up ${upBuild} failed: ${JSON.stringify(up.error)}`);
      return done();
    }
  }

  // Assert: counts back, drift left and reported, records complete, no lock.
  const record = await w.json(actionsKey);
  const skipped = new Set(((record?.skipped ?? []) as { deployment: string }[]).map((s) => s.deployment));
  for (const name of w.deployments) {
    const drifted = report.effectiveDrift && plan.drift?.deployment === name;
    const want = drifted ? (plan.drift?.to as number) : (plan.counts[name] as number);
    const s = await specOf(w, name);
    if (s.spec !== want)
      violations.push(
        `${name} at ${s.spec} after up, want ${want} (${drifted ? 'drifted while down' : `recorded before down ${restorePoint}`})`,
      );
    else if (!drifted) report.restored++;
    if (drifted && !skipped.has(name)) violations.push(`${name} drifted but is not in skipped of ${upBuild}`);
    if (!drifted && skipped.has(name))
      violations.push(`${name} did not drift but is in skipped of ${upBuild}`);
  }
  if (record?.jenkins_build !== upBuild || record?.result !== 'succeeded')
    violations.push(`actions.json is not the succeeded up ${upBuild}: ${JSON.stringify(record)}`);
  if (record?.restored_from_build !== restorePoint)
    violations.push(`up restored from build ${record?.restored_from_build}, want ${restorePoint}`);
  const pre = await w.json(`${w.prefix}/history/${restorePoint}/pre-state.json`);
  for (const [name, n] of Object.entries(plan.counts)) {
    const got = pre?.k8s_deployments?.[name]?.deployment_replicas;
    if (got !== n) violations.push(`restore point ${restorePoint} records ${name}=${got}, want ${n}`);
  }
  const history = await w.keys(`${w.prefix}/history/`);
  for (const b of [...report.downs.filter((b) => b !== first || !report.kill?.landed), upBuild]) {
    for (const f of ['pre-state.json', 'post-state.json', 'actions.json'])
      if (!history.includes(`${w.prefix}/history/${b}/${f}`)) violations.push(`history/${b}/${f} missing`);
  }
  if ((await w.keys(lockKey)).length) violations.push('lock.json left after up');
  if (woke && plan.wake?.expires && !violations.length) await expireWake(w, woke, build('u2'), violations);
  return done();
}

/**
 * The wake expires: its TTL's down (the sweep, a second after its until) puts every deployment
 * to 0 and ends the wake; the next ordinary up brings back the counts the wake's up restored.
 */
async function expireWake(
  w: PropertyWorld,
  woke: { build: string; until: string; user: string },
  upBuild: string,
  violations: string[],
) {
  const awake = Object.fromEntries(
    await Promise.all(w.deployments.map(async (name) => [name, (await specOf(w, name)).spec] as const)),
  );
  const swept = await w.sweep(new Date(Date.parse(woke.until) + 1000));
  const ttlDown = await w.json(`${w.prefix}/actions.json`);
  if (swept !== 0) violations.push(`the sweep of the expired wake exited ${swept}`);
  if (
    ttlDown?.desired_state !== 'down' ||
    ttlDown?.result !== 'succeeded' ||
    ttlDown?.jenkins_user !== `wake:ttl:${woke.user}`
  )
    violations.push(`actions.json is not the wake's TTL down: ${JSON.stringify(ttlDown)}`);
  if ((await w.keys(`${w.prefix}/wake.json`)).length) violations.push('wake.json left after its TTL down');
  for (const name of w.deployments) {
    const s = await specOf(w, name);
    if (s.spec !== 0) violations.push(`${name} at ${s.spec} after the wake's TTL down, not 0`);
  }
  if (violations.length) return;
  const up = await w.run('up', upBuild);
  if (up.status !== 'SUCCEEDED') {
    violations.push(`up ${upBuild} after the TTL down failed: ${JSON.stringify(up.error)}`);
    return;
  }
  const record = await w.json(`${w.prefix}/actions.json`);
  if (record?.restored_from_build !== ttlDown?.jenkins_build)
    violations.push(
      `up ${upBuild} restored from ${record?.restored_from_build}, want the TTL down ${ttlDown?.jenkins_build}`,
    );
  for (const name of w.deployments) {
    const s = await specOf(w, name);
    if (s.spec !== awake[name])
      violations.push(`${name} at ${s.spec} after the up that followed the TTL down, want ${awake[name]}`);
  }
}

export interface PropertySummary {
  cycles: number;
  kills: number;
  drifts: number;
  restored: number;
  /** Cycles whose up was a wake, and those whose wake then expired (its TTL's down, then an up). */
  wakes: number;
  ttlDowns: number;
  failures: number;
}

export function summarize(reports: CycleReport[]): PropertySummary {
  return {
    cycles: reports.length,
    kills: reports.filter((c) => c.kill?.landed).length,
    drifts: reports.filter((c) => c.effectiveDrift).length,
    restored: reports.reduce((n, c) => n + c.restored, 0),
    wakes: reports.filter((c) => c.plan.wake).length,
    ttlDowns: reports.filter((c) => c.plan.wake?.expires).length,
    failures: reports.filter((c) => c.violations.length).length,
  };
}

function table(head: string[], rows: (string | number)[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => String(c).padEnd(w[i] ?? 0)).join(' | ')} |`;
  return `${line(head)}\n|${w.map((n) => '-'.repeat(n + 2)).join('|')}|\n${rows.map(line).join('\n')}\n`;
}

/** Per-cycle lines and the summary table (cycles, kills, drifts, restored deployments, failures). */
export function formatReports(reports: CycleReport[], seed: number): string {
  const rows = reports.map((c) => [
    c.cycle,
    JSON.stringify(c.plan.counts).replace(/"|-deployment/g, ''),
    c.kill
      ? c.kill.landed
        ? `killed after "${c.kill.lastLine}"${c.kill.intentWritten ? ' (intent written)' : ''}${c.kill.unlock ? `, unlock ${c.kill.unlock}` : ''}`
        : 'kill missed: down finished'
      : '-',
    c.downs.join(' '),
    c.plan.drift
      ? `${c.plan.drift.deployment.replace('-deployment', '')}=${c.plan.drift.to}${c.effectiveDrift ? '' : ' (restored)'}`
      : '-',
    c.plan.wake ? (c.plan.wake.expires ? 'wake, TTL down, up' : 'wake') : 'up',
    c.restored,
    c.seconds.toFixed(1),
    c.violations.join('; ') || 'ok',
  ]);
  const s = summarize(reports);
  return `${table(['cycle', 'counts', 'kill', 'downs', 'drift', 'up', 'restored', 's', 'result'], rows)}\n${table(
    ['seed', 'cycles', 'kills', 'drifts', 'wakes', 'TTL downs', 'restored deployments', 'failures'],
    [[seed, s.cycles, s.kills, s.drifts, s.wakes, s.ttlDowns, s.restored, s.failures]],
  )}`;
}
