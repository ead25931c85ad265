// The thin shell every handler shares: dependencies built once per process (cold start),
// Powertools logging with the Lambda context (request id, cold start, function name), the
// execution ARN, the environment key and customer/environment/build as keys, and the
// step's name put in front of an error's message so the failure record says where it happened.
import { Logger } from '@aws-lambda-powertools/logger';
import { setCurrentExecution } from '#core/clients/assume-role';
import { notifierFromEnvironment } from '#core/clients/sns';
import { loadDeployedConfig } from '#core/config/deployed';
import { type Deps, parseContext, type RunContext } from '#core/contracts';
import { foldPoll, markPhase } from '#core/run/phase-times';
import type { FunctionId, TaskFunctionId } from '#core/steps';
import { type KubeFactory, makeDeps } from '#core/wiring';

export const logger = new Logger({ serviceName: 'customer-infra-manager' });

let lambdaDeps: Deps | undefined;

export interface TaskOptions {
  /** Steps that talk to Kubernetes pass the EKS factory; the others do not bundle its client. */
  kube?: KubeFactory;
}

/** In Lambda: the configuration bundled with the function (deployed-config.json), Kubernetes through EKS. */
function depsFromEnvironment(options: TaskOptions): Deps {
  if (!lambdaDeps) {
    const { config, source, digest } = loadDeployedConfig();
    const notifier = notifierFromEnvironment();
    lambdaDeps = {
      ...makeDeps({
        config,
        configSource: source,
        kube: options.kube ?? null,
        log: { info: (m, e) => logger.info(m, e ?? {}), warn: (m, e) => logger.warn(m, e ?? {}) },
      }),
      configDigest: digest,
      // Set by the stack on the Start/Stop database functions when RDS events are wired.
      databaseEvents: process.env.CIM_DATABASE_EVENTS === '1',
      ...(notifier ? { notify: notifier } : {}),
    };
  }
  return lambdaDeps;
}

/** The Lambda context as Powertools takes it (no aws-lambda types needed). */
export type LambdaContext = Parameters<Logger['addContext']>[0];

export type TaskHandler = ((event: unknown, context?: LambdaContext) => Promise<unknown>) & {
  readonly id: FunctionId;
  /** The same handler with other collaborators: the CLI's local run and the tests use this. */
  withDeps(deps: Deps): (event: unknown) => Promise<unknown>;
};

/**
 * The keys every log line of one invocation carries: the execution (Prepare and the fleet
 * steps get `executionId` from `$$.Execution.Id`, later steps carry it in the run context),
 * the environment key ("alpha/dev") and the request's customer, environment, build, action.
 */
export function keysOf(event: unknown): Record<string, string> {
  const e = event as {
    request?: Record<string, unknown>;
    input?: Record<string, unknown>;
    executionId?: unknown;
  } | null;
  const r = (e?.request ?? e?.input ?? {}) as Record<string, unknown>;
  const keys: Record<string, string> = {};
  if (typeof e?.executionId === 'string') keys.executionArn = e.executionId;
  for (const k of ['customer', 'environment', 'build', 'action'] as const)
    if (typeof r[k] === 'string') keys[k] = r[k];
  if (keys.customer && keys.environment) keys.environmentKey = `${keys.customer}/${keys.environment}`;
  return keys;
}

/** A Task whose input is not a run context (Prepare): `run` validates what it receives. */
export function defineTask(
  id: FunctionId,
  label: string,
  run: (deps: Deps, event: { input: unknown; executionId?: string }) => Promise<unknown> | unknown,
  options: TaskOptions = {},
): TaskHandler {
  const invoke = async (deps: Deps, event: unknown) => {
    try {
      const e =
        event && typeof event === 'object'
          ? (event as { input: unknown; executionId?: string })
          : { input: event };
      return await run(deps, e);
    } catch (err) {
      if (err instanceof Error && !err.message.startsWith(`${label}: `))
        err.message = `${label}: ${err.message}`;
      throw err;
    }
  };
  const handler = async (event: unknown, context?: LambdaContext) => {
    if (context) logger.addContext(context);
    const keys = keysOf(event);
    logger.appendKeys({ step: label, ...keys });
    // Roles assumed in target accounts name their session after this execution.
    setCurrentExecution(keys.executionArn);
    try {
      return await invoke(depsFromEnvironment(options), event);
    } catch (err) {
      logger.error('step failed', err as Error);
      throw err;
    } finally {
      logger.resetKeys();
    }
  };
  return Object.assign(handler, { id, withDeps: (deps: Deps) => (event: unknown) => invoke(deps, event) });
}

/** A Task after Prepare: its input is checked to be a run context before `run` sees it. */
export function defineStep(
  id: TaskFunctionId,
  label: string,
  run: (deps: Deps, ctx: RunContext, step: string) => Promise<unknown> | unknown,
  options: TaskOptions = {},
): TaskHandler {
  return defineTask(
    id,
    label,
    async (deps, event) => {
      const started = deps.now();
      const out = await run(deps, foldPoll(parseContext(event, label)), label);
      return markPhase(id, out, started, deps.now());
    },
    options,
  );
}
