// npm run bench: the tables below, then the same numbers as JSON (`npm run bench -- fleet` runs one).
//  1. wall time of down and up for alpha/dev against the real peers, next to the legacy
//     tool's built-in waits for the same run (60 s after the database, 120 s after scaling);
//  2. state transitions and Lambda invocations of one `up` whose database takes 8 minutes to
//     start and whose deployments take 2 minutes, on the local engine with a virtual clock,
//     the check schedule (polling, no database events) next to a fixed 15-second poll;
//  3. (bench/startup.ts, P3) size of each Lambda bundle (same esbuild options as the stack)
//     and the time to import it in a fresh Node process; `cim --help` and `cim status`
//     start-up time and peak RSS;
//  4. (bench/fleet.ts) a fleet of 200 environments down and up on the sandbox at concurrency
//     10 and 25, next to one environment; 5. the stack synthesized for 2,000 environments;
// P1 (bench/cli-overhead.ts, `overhead`): cim down/up as processes on the sandbox, wall time next
//     to the inherent time seen by an independent watcher;
// fleet-model (bench/fleet-model.ts): fleets of 200 / 2,000 / 10,000 against the RDS API budget,
//     the real definitions on the local engine, children modelled on a virtual clock;
// P2 (bench/waits.ts, `waits`): transitions, invocations and time past ready of up/down over a
//     range of database and deployment durations, polling next to the event-driven database wait.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeDBInstancesCommand, StartDBInstanceCommand } from '@aws-sdk/client-rds';
import { runLocal } from '#cli/engine/local-environment';
import type { DeploymentStatus, KubeGateway } from '#core/gateways/kubernetes';
import { TaskFunctions, WaitSteps } from '#core/steps';
import { synthesizedDefinition } from '../test/support/synthesized.ts';
import { makeWorld, seedLegacyDown } from '../test/support/world.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const want = (n: string) => only.length === 0 || only.includes(n);
const results: Record<string, unknown> = {};

function table(title: string, head: string[], rows: (string | number)[][]) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => String(c).padEnd(w[i] ?? 0)).join(' | ')} |`;
  process.stdout.write(
    `\n${title}\n${line(head)}\n|${w.map((n) => '-'.repeat(n + 2)).join('|')}|\n${rows.map(line).join('\n')}\n`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

// ---------- 1. wall time against the peers ----------
async function wallTime(cycles = 3) {
  const { startSandbox, resetSandbox } = await import('../sandbox/sandbox.ts');
  const { loadConfigFile } = await import('#core/config/file');
  const { makeDeps } = await import('#core/wiring');
  const { kubeconfigKube } = await import('#core/clients/kubernetes');
  const sb = await startSandbox({ quiet: true });
  Object.assign(process.env, sb.env);
  try {
    const config = loadConfigFile(sb.info.configFile);
    const definition = synthesizedDefinition();
    const times: Record<'down' | 'up', number[]> = { down: [], up: [] };
    for (let i = 0; i < cycles; i++) {
      await resetSandbox(sb.info);
      for (const action of ['down', 'up'] as const) {
        const deps = makeDeps({
          config,
          configSource: 'sandbox',
          kube: kubeconfigKube(config, sb.info.orchestratorKubeconfig),
          log: { info: () => {}, warn: () => {} },
        });
        const t0 = performance.now();
        const r = await runLocal({
          deps,
          definition,
          input: { action, customer: 'alpha', environment: 'dev', build: `b${i}-${action}`, user: 'bench' },
        });
        if (r.status !== 'SUCCEEDED') throw new Error(`${action} failed: ${JSON.stringify(r.error)}`);
        times[action].push((performance.now() - t0) / 1000);
      }
    }
    const legacyFixed = { down: 0, up: 60 + 120 };
    const rows = (['down', 'up'] as const).map((a) => {
      const m = median(times[a]);
      return [
        a,
        m.toFixed(1),
        times[a].map((t) => t.toFixed(1)).join(' / '),
        legacyFixed[a] || 'none documented',
        legacyFixed[a] ? `${(m / legacyFixed[a]).toFixed(3)}` : '-',
      ];
    });
    table(
      `1. Wall time on the sandbox (alpha/dev, ${cycles} cycles, local engine + real peers)`,
      ['action', 'median s', 'runs s', 'legacy fixed waits s', 'ratio'],
      rows,
    );
    results.wallTime = { cycles, seconds: times, legacyFixedWaitsSeconds: legacyFixed };
  } finally {
    await sb.stop();
  }
}

// ---------- 2. transitions with a virtual clock ----------
class TimedKube implements KubeGateway {
  private readonly d = new Map<string, { replicas: number; readyAt: number }>();
  constructor(
    private readonly now: () => number,
    private readonly takes: number,
  ) {
    this.d.set('alpha-dev/frontend-deployment', { replicas: 0, readyAt: 0 });
    this.d.set('alpha-dev/backend-deployment', { replicas: 0, readyAt: 0 });
  }
  async readDeployment(ns: string, name: string): Promise<DeploymentStatus> {
    const d = this.d.get(`${ns}/${name}`);
    if (!d) throw new Error('unknown');
    const avail = this.now() >= d.readyAt ? d.replicas : 0;
    return {
      exists: true,
      replicas: d.replicas,
      currentReplicas: d.replicas,
      readyReplicas: avail,
      availableReplicas: avail,
      updatedReplicas: d.replicas,
      observed: true,
      availableCondition: { status: avail ? 'True' : 'False', reason: null },
    };
  }
  async scaleDeployment(ns: string, name: string, replicas: number) {
    this.d.set(`${ns}/${name}`, { replicas, readyAt: this.now() + this.takes * 1000 });
  }
  async checkScale() {}
}

async function transitions() {
  const dbStart = 8 * 60;
  const appsReady = 2 * 60;
  const definition = synthesizedDefinition();
  const measure = async (fixed: number | null) => {
    const w = makeWorld();
    seedLegacyDown(w);
    let startedAt: number | null = null;
    const nowMs = () => w.clock.now().getTime();
    w.rds.on(StartDBInstanceCommand).callsFake(() => {
      startedAt = nowMs();
      return {};
    });
    w.rds.on(DescribeDBInstancesCommand).callsFake(() => ({
      DBInstances: [
        {
          DBInstanceStatus:
            startedAt === null ? 'stopped' : nowMs() - startedAt >= dbStart * 1000 ? 'available' : 'starting',
        },
      ],
    }));
    const kube = new TimedKube(nowMs, appsReady);
    const deps = { ...w.deps, kube: () => kube };
    const t0 = nowMs();
    const run = await runLocal({
      deps,
      definition,
      input: { action: 'up', customer: 'alpha', environment: 'dev', build: '2', user: 'bench' },
      waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
      wrapTask: (_s, fn) => async (event) => {
        const poll = (event as { poll?: { stable: boolean; waitSeconds: number } }).poll;
        if (poll && !poll.stable) {
          w.clock.advance(poll.waitSeconds);
        }
        const out = (await fn(event)) as { waitSeconds?: number; stable?: boolean };
        // The fixed-interval baseline: same workflow, every wait forced to `fixed` seconds.
        if (fixed !== null && out && typeof out.waitSeconds === 'number' && !out.stable)
          out.waitSeconds = fixed;
        return out;
      },
    });
    w.restore();
    if (run.status !== 'SUCCEEDED') throw new Error(JSON.stringify(run.error));
    const taskNames = new Set<string>(Object.values(TaskFunctions).flat());
    const entered = run.events.filter((e) => e.type === 'StateEntered') as { state: { name: string } }[];
    return {
      transitions: entered.length,
      lambdaInvocations: entered.filter((e) => taskNames.has(e.state.name)).length,
      polls: entered.filter((e) => e.state.name.startsWith('Check ')).length,
      virtualSeconds: Math.round((nowMs() - t0) / 1000),
      overshootSeconds: Math.round((nowMs() - t0) / 1000) - dbStart - appsReady,
    };
  };
  const adaptive = await measure(null);
  const fixed = await measure(15);
  table(
    `2. One up: database starts in ${dbStart} s, deployments available after ${appsReady} s (virtual clock, local engine)`,
    ['polling', 'state transitions', 'Lambda invocations', 'polls', 'run time s', 'past ready s'],
    [
      [
        'scheduled (this tool, polling)',
        adaptive.transitions,
        adaptive.lambdaInvocations,
        adaptive.polls,
        adaptive.virtualSeconds,
        adaptive.overshootSeconds,
      ],
      [
        'fixed 15 s',
        fixed.transitions,
        fixed.lambdaInvocations,
        fixed.polls,
        fixed.virtualSeconds,
        fixed.overshootSeconds,
      ],
    ],
  );
  results.transitions = {
    databaseStartSeconds: dbStart,
    deploymentsReadySeconds: appsReady,
    adaptive,
    fixed15s: fixed,
  };
}

if (want('transitions')) await transitions();
if (want('waits')) await (await import('./waits.ts')).waitsBench(table, results);
if (want('overhead')) await (await import('./cli-overhead.ts')).overheadBench(table, results);
if (want('startup') || only.includes('bundles'))
  await (await import('./startup.ts')).startupBench(
    table,
    results,
    root,
    Number(process.env.CIM_BENCH_RUNS ?? 7),
  );
if (want('wall')) await wallTime();
if (want('fleet-model')) await (await import('./fleet-model.ts')).fleetModelBench(table, results);
// R5 (bench/report.ts, `report`): buildReport over 30 days for 2,000 environments seeded in moto.
if (only.includes('report')) await (await import('./report.ts')).reportBench(table, results);
if (only.includes('wake')) await (await import('./wake.ts')).wakeBench(table, results);
if (want('synth-fleet')) (await import('./fleet.ts')).synthFleet(table, results, 2000);
// The fleet benchmark starts a sandbox of 200 environments: minutes, so last.
if (want('fleet'))
  await (await import('./fleet.ts')).fleetBench(table, results, Number(process.env.CIM_BENCH_FLEET ?? 200));
process.stdout.write(`\n${JSON.stringify({ node: process.version, results }, null, 2)}\n`);
