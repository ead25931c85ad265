// SIGINT and SIGTERM, from the moment the built CLI loads until the process exits. Without a
// listener Node takes the default action and the process dies with 128 + n, which tells a CI
// job nothing true: a run that had finished and recorded would look killed. So one listener
// is installed when `cim` starts (installSignalRouter) and stays until exit; each phase of
// the command routes the signals to what that phase must do, and once a result is final
// they change nothing.

export type SignalHandler = (signal: NodeJS.Signals) => void;

const router: { installed: boolean; handler: SignalHandler | null; pending: NodeJS.Signals[] } = {
  installed: false,
  handler: null,
  pending: [],
};

function dispatch(signal: NodeJS.Signals): void {
  if (router.handler) router.handler(signal);
  else router.pending.push(signal);
}

/**
 * The `cim` process: listens from now until it exits. A signal that arrives before a handler is
 * routed (modules still loading) is kept and handed to the first one.
 */
export function installSignalRouter(): void {
  if (router.installed) return;
  router.installed = true;
  process.on('SIGINT', dispatch);
  process.on('SIGTERM', dispatch);
}

/**
 * Routes SIGINT/SIGTERM to `handler` (the signals kept so far first) and returns what ends
 * that: `then` takes over (by default, a note that the signal changes nothing). When `main` runs
 * in a test process, with no router, the handler listens itself until the returned function is called.
 */
export function routeSignals(handler: SignalHandler): (then?: SignalHandler) => void {
  if (!router.installed) {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  }
  router.handler = handler;
  for (const s of router.pending.splice(0)) handler(s);
  return (then) => {
    if (router.handler === handler) router.handler = then ?? ignoreAfterResult;
  };
}

/** A command with nothing to record (help, history, unlock...): only in the `cim` process, no listener in tests. */
export function routeCommandSignals(handler: SignalHandler): void {
  if (!router.installed) return;
  router.handler = handler;
  for (const s of router.pending.splice(0)) handler(s);
}

/** After the result is final: the signal is noted and the process exits with the run's own code. */
export const ignoreAfterResult: SignalHandler = (signal) => {
  process.stderr.write(`cim: ${signal} after the result was final: ignored, the result stands\n`);
};

/** Commands with nothing to stop safely (help, schema, history...): exit at once as the signal would. */
export const exitOnSignal: SignalHandler = (signal) => {
  process.exit(signal === 'SIGINT' ? 130 : 143);
};
