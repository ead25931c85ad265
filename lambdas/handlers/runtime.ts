// The thin shell every handler shares: dependencies built once per process (cold start),
// Powertools logging with customer/environment/build as keys, and the step's name put in
// front of an error's message so the failure record says where it happened.
import { Logger } from '@aws-lambda-powertools/logger';
import { parseConfig } from '#core/config';
import { type KubeFactory, makeDeps } from '#core/deps';
import { CimError, ErrorNames } from '#core/errors';
import type { TaskFunctionId } from '#core/steps';
import type { Deps } from '#core/workflow-steps';

export const logger = new Logger({ serviceName: 'customer-infra-manager' });

let lambdaDeps: Deps | undefined;

export interface TaskOptions {
  /** Steps that talk to Kubernetes pass the EKS factory; the others do not bundle its client. */
  kube?: KubeFactory;
}

/** In Lambda: the configuration the stack deployed (CIM_CONFIG), Kubernetes through EKS. */
function depsFromEnvironment(options: TaskOptions): Deps {
  if (!lambdaDeps) {
    const raw = process.env.CIM_CONFIG;
    if (!raw)
      throw new CimError(
        ErrorNames.ConfigInvalid,
        'CIM_CONFIG is not set: deploy this function with the CDK stack, which sets it',
      );
    const config = parseConfig(JSON.parse(raw), 'the deployed configuration (CIM_CONFIG)');
    lambdaDeps = makeDeps({
      config,
      configSource: 'the deployed configuration',
      kube: options.kube ?? null,
      log: { info: (m, e) => logger.info(m, e ?? {}), warn: (m, e) => logger.warn(m, e ?? {}) },
    });
  }
  return lambdaDeps;
}

export type TaskHandler = ((event: unknown) => Promise<unknown>) & {
  readonly id: TaskFunctionId;
  /** The same handler with other collaborators: the CLI's local run and the tests use this. */
  withDeps(deps: Deps): (event: unknown) => Promise<unknown>;
};

function keysOf(event: unknown): Record<string, string> {
  const e = event as { request?: Record<string, unknown>; input?: Record<string, unknown> } | null;
  const r = e?.request ?? e?.input ?? {};
  const keys: Record<string, string> = {};
  for (const k of ['customer', 'environment', 'build', 'action'] as const)
    if (typeof r[k] === 'string') keys[k] = r[k];
  return keys;
}

/** `E` is what the state machine passes; core functions validate what they rely on. */
export function defineTask<E>(
  id: TaskFunctionId,
  label: string,
  run: (deps: Deps, event: E) => Promise<unknown> | unknown,
  options: TaskOptions = {},
): TaskHandler {
  const invoke = async (deps: Deps, event: unknown) => {
    try {
      return await run(deps, event as E);
    } catch (err) {
      if (err instanceof Error && !err.message.startsWith(`${label}: `))
        err.message = `${label}: ${err.message}`;
      throw err;
    }
  };
  const handler = async (event: unknown) => {
    logger.appendKeys({ step: label, ...keysOf(event) });
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
