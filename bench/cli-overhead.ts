// P1 (`npm run bench -- overhead`): `cim down` and `cim up` for alpha/dev on the sandbox, each
// a separate process as CI runs it, next to the inherent time measured by an independent
// watcher: from the first scale call (a deployment's spec.replicas changes) until every
// deployment is gone (down) or available (up), read every 50 ms from the API server.
// Overhead = wall − inherent, split into before the first scale (CLI start-up, prepare,
// database) and after ready (the last checks, records).
import { spawnSync } from 'node:child_process';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { resetSandbox, SANDBOX_ENVIRONMENTS, startSandbox } from '../sandbox/sandbox.ts';
import { spawnCim } from '../test/integration/property-cycle.ts';

type Table = (title: string, head: string[], rows: (string | number)[][]) => void;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Watch {
  /** ms since epoch: first sample with a changed spec.replicas, first sample with all settled. */
  firstChange: number | null;
  settled: number | null;
  stop(): void;
}

function watchDeployments(apps: AppsV1Api, namespace: string, names: string[], action: 'up' | 'down'): Watch {
  const w: Watch = { firstChange: null, settled: null, stop: () => undefined };
  let initial: Map<string, number> | null = null;
  let running = true;
  w.stop = () => {
    running = false;
  };
  void (async () => {
    while (running && w.settled === null) {
      const t = Date.now();
      const list = await apps.listNamespacedDeployment({ namespace }).catch(() => null);
      if (list) {
        const ds = list.items.filter((d) => names.includes(d.metadata?.name ?? ''));
        const spec = new Map(ds.map((d) => [d.metadata?.name ?? '', d.spec?.replicas ?? 0]));
        if (!initial) initial = spec;
        else if (w.firstChange === null && [...spec].some(([n, r]) => initial?.get(n) !== r))
          w.firstChange = t;
        if (w.firstChange !== null) {
          const done = ds.every((d) =>
            action === 'down'
              ? (d.spec?.replicas ?? 0) === 0 && (d.status?.replicas ?? 0) === 0
              : (d.spec?.replicas ?? 0) > 0 && (d.status?.availableReplicas ?? 0) === d.spec?.replicas,
          );
          if (done) w.settled = t;
        }
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - t))));
    }
  })();
  return w;
}

export async function overheadBench(table: Table, results: Record<string, unknown>, cycles = 3) {
  const sb = await startSandbox({ quiet: true });
  try {
    const env = SANDBOX_ENVIRONMENTS['alpha/dev'];
    if (!env) throw new Error('internal: alpha/dev is not a sandbox environment');
    const names = Object.keys(env.deployments);
    const admin = new KubeConfig();
    admin.loadFromFile(sb.info.adminKubeconfig);
    const apps = admin.makeApiClient(AppsV1Api);
    const runs: Record<'down' | 'up', { wall: number; inherent: number; before: number; after: number }[]> = {
      down: [],
      up: [],
    };
    for (let i = 0; i < cycles; i++) {
      await resetSandbox(sb.info);
      for (const action of ['down', 'up'] as const) {
        const watch = watchDeployments(apps, env.namespace, names, action);
        await new Promise((r) => setTimeout(r, 200)); // the watcher's first sample is the baseline
        const p = spawnCim(sb.info, [
          action,
          '--customer',
          'alpha',
          '--env',
          'dev',
          '--build',
          `p1-${i}-${action}`,
        ]);
        const exit = await p.exited;
        watch.stop();
        if (exit.code !== 0) throw new Error(`cim ${action} exited ${exit.code}: ${exit.stderr}`);
        if (watch.firstChange === null || watch.settled === null)
          throw new Error(`cim ${action}: the watcher saw no change`);
        runs[action].push({
          wall: (exit.endedAt - exit.startedAt) / 1000,
          inherent: (watch.settled - watch.firstChange) / 1000,
          before: (watch.firstChange - exit.startedAt) / 1000,
          after: (exit.endedAt - watch.settled) / 1000,
        });
      }
    }
    // CLI start-up alone (the fast-CLI work is measured in P3): `cim --help` in a fresh process.
    const help: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      spawnSync(process.execPath, ['bin/cim.mjs', '--help'], { stdio: 'ignore' });
      help.push((performance.now() - t) / 1000);
    }
    const rows = (['down', 'up'] as const).map((a) => {
      const m = (k: 'wall' | 'inherent' | 'before' | 'after') => median(runs[a].map((r) => r[k]));
      return [
        a,
        m('wall').toFixed(2),
        m('inherent').toFixed(2),
        (m('wall') - m('inherent')).toFixed(2),
        m('before').toFixed(2),
        m('after').toFixed(2),
        median(help).toFixed(2),
      ];
    });
    table(
      `P1. cim down/up for alpha/dev as separate processes on the sandbox (median of ${cycles}); inherent = first scale call until every deployment gone/available (watched every 50 ms)`,
      [
        'action',
        'wall s',
        'inherent s',
        'overhead s',
        'spawn → first scale s',
        'ready → exit s',
        'cim --help s',
      ],
      rows,
    );
    results.overhead = { cycles, runs, helpSeconds: help };
  } finally {
    await sb.stop();
  }
}
