// Local runs only: waits that end when the resource is ready. The engine's Wait state is set to
// 0 and the wait happens after a check that found the resource not ready yet: a Kubernetes
// watch on the namespaces' deployments (or StatefulSets) re-runs the check on every change and
// ends the wait as soon as it passes; the health URLs are re-checked every second; the
// database keeps its scheduled wait (RDS is not polled every second). A watch that cannot
// start or disconnects falls back to re-checking every second. Every wait ends at the time
// the schedule gave it (the next check follows), at an interrupt, or at READY.
import { KubeConfig, Watch } from '@kubernetes/client-node';
import type { RunContext } from '#core/contracts';
import { Steps } from '#core/steps';

/** Starts a watch on `path`; `onChange` at every event, `onGone` when it ends or fails. */
export type WatchSource = (
  path: string,
  onChange: () => void,
  onGone: (err?: unknown) => void,
) => Promise<{ abort(): void }>;

export type WaitOutcome = 'ready' | 'elapsed' | 'aborted';

/** `recheck` runs the check again (read-only) and says whether it passes now. */
export type LocalWait = (
  state: string,
  ctx: RunContext,
  recheck: () => Promise<boolean>,
  ms: number,
  signal?: AbortSignal,
) => Promise<WaitOutcome>;

/** A watch through the kubeconfig the run uses (client-node's Watch). */
export function kubeconfigWatchSource(path?: string, context?: string): WatchSource {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  const watch = new Watch(kc);
  return async (p, onChange, onGone) => {
    const ctl = await watch.watch(
      p,
      {},
      () => onChange(),
      (err) => onGone(err),
    );
    return { abort: () => ctl.abort() };
  };
}

/** What to watch for a check state: API paths, or null for no watch. */
function watchPaths(state: string, ctx: RunContext): string[] | null {
  if (state === Steps.checkDeploymentsAvailable || state === Steps.checkDeploymentsStopped) {
    const ns = [...new Set((ctx.changes ?? []).map((c) => c.namespace))];
    return ns.map((n) => `/apis/apps/v1/namespaces/${encodeURIComponent(n)}/deployments`);
  }
  if (state === Steps.checkStatefulSetsReady || state === Steps.checkStatefulSetsStopped) {
    const ns = [
      ...new Set((ctx.workloadChanges ?? []).filter((c) => c.kind === 'StatefulSet').map((c) => c.namespace)),
    ];
    return ns.map((n) => `/apis/apps/v1/namespaces/${encodeURIComponent(n)}/statefulsets`);
  }
  return null;
}

export function localWait(o: { source: WatchSource | null; pollMs?: number }): LocalWait {
  const pollMs = o.pollMs ?? 1000;
  return (state, ctx, recheck, ms, signal) =>
    new Promise<WaitOutcome>((resolve) => {
      const paths = watchPaths(state, ctx);
      const isDatabase = state === Steps.checkDatabaseAvailable || state === Steps.checkDatabaseStopped;
      const watches: { abort(): void }[] = [];
      let timer: NodeJS.Timeout | undefined;
      let poller: NodeJS.Timeout | undefined;
      let ended = false;
      let checking = false;
      let again = false;
      const end = (outcome: WaitOutcome) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        clearInterval(poller);
        signal?.removeEventListener('abort', onAbort);
        for (const w of watches) w.abort();
        resolve(outcome);
      };
      const onAbort = () => end('aborted');
      // One recheck at a time; a change during one asks for another.
      const check = async () => {
        if (ended) return;
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          do {
            again = false;
            if (await recheck().catch(() => false)) end('ready');
          } while (again && !ended);
        } finally {
          checking = false;
        }
      };
      const poll = () => {
        if (!ended && !poller) poller = setInterval(() => void check(), pollMs);
      };
      timer = setTimeout(() => end('elapsed'), ms);
      if (signal?.aborted) return end('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      if (isDatabase) return;
      if (!paths?.length || !o.source) return poll();
      const source = o.source;
      void (async () => {
        try {
          for (const p of paths) {
            const w = await source(
              p,
              () => void check(),
              () => poll(),
            );
            if (ended) w.abort();
            else watches.push(w);
          }
        } catch {
          poll();
        }
        // It may have become ready between the check and the watch.
        void check();
      })();
    });
}
