// The legacy tool's environment variables (ACTION, CUSTOMER, ENVIRONMENT, BUILD_NUMBER,
// BUILD_USER, DRY_RUN, EKS_CLUSTER, AWS_REGION, S3_BUCKET_NAME, S3_REGION), so that a Jenkins
// job only swaps `python3 src/main.py` for `cim`; and the refusal of a variable left in a
// job's environment that contradicts the command line.
import { userInfo } from 'node:os';
import type { Config } from '#core/config/schema';
import type { RunRequest } from '#core/contracts';
import { UsageError } from './exit-codes.ts';

export const ACTION_ALIASES: Record<string, RunRequest['action']> = {
  up: 'up',
  down: 'down',
  status: 'get_env_state',
  get_env_state: 'get_env_state',
};

/** `cim --help`'s line for legacy mode. */
export const LEGACY_HELP =
  'legacy mode: reads ACTION, CUSTOMER, ENVIRONMENT, BUILD_NUMBER, BUILD_USER, DRY_RUN, EKS_CLUSTER, AWS_REGION, S3_BUCKET_NAME, S3_REGION like the old main.py';

/** The settings legacy variables give one environment, over the configuration file's. */
export type LegacySettings = Partial<Record<'cluster' | 'region' | 'bucket' | 'bucketRegion', string>>;

export function defaultUser(env: NodeJS.ProcessEnv): string {
  if (env.BUILD_USER) return env.BUILD_USER;
  try {
    return userInfo().username || 'cim';
  } catch {
    return 'cim';
  }
}

/** DRY_RUN and the like: only true/false/1/0 (any case); anything else is a usage error. */
function strictBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new UsageError(`${name}="${value}" is not a boolean: use true, false, 1 or 0`);
}

/** `cim` with no command: the run the legacy variables describe. */
export async function parseLegacyMode(values: { 'dry-run': boolean }, env: NodeJS.ProcessEnv) {
  if (!env.ACTION) throw new UsageError('no command given and ACTION is not set (legacy mode)');
  const action = ACTION_ALIASES[env.ACTION];
  if (!action) throw new UsageError(`ACTION="${env.ACTION}" is not one of up, down, get_env_state`);
  for (const v of ['CUSTOMER', 'ENVIRONMENT'] as const)
    if (!env[v]) throw new UsageError(`legacy mode needs ${v} to be set`);
  const legacy: LegacySettings = {};
  const { Settings } = await import('#core/config/schema');
  const vars = [
    ['EKS_CLUSTER', 'cluster'],
    ['AWS_REGION', 'region'],
    ['S3_BUCKET_NAME', 'bucket'],
    ['S3_REGION', 'bucketRegion'],
  ] as const;
  for (const [name, field] of vars) {
    const value = env[name];
    if (!value) continue;
    // Checked here so that the message names the variable, not a path in the file.
    const checked = Settings.shape[field].safeParse(value);
    if (!checked.success)
      throw new UsageError(`${name}="${value}" ${checked.error.issues[0]?.message ?? 'is not valid'}`);
    legacy[field] = value;
  }
  return {
    request: {
      action,
      customer: env.CUSTOMER ?? '',
      environment: env.ENVIRONMENT ?? '',
      build: env.BUILD_NUMBER,
      user: defaultUser(env),
      dryRun: values['dry-run'] || strictBoolean('DRY_RUN', env.DRY_RUN),
      // The legacy job recorded every get_env_state; an unchanged job keeps doing so.
      record: action === 'get_env_state',
    },
    legacy,
  };
}

/** Legacy variables left in a job's environment must not contradict the command line. */
export function refuseDisagreeingLegacyVariables(
  command: string | undefined,
  name: string,
  given: Set<string>,
  env: NodeJS.ProcessEnv,
  named: { customer: string | undefined; env: string | undefined },
): void {
  if (command === undefined) {
    if (given.has('dry-run') && env.DRY_RUN !== undefined && /^(false|0)$/i.test(env.DRY_RUN.trim()))
      throw new UsageError(`DRY_RUN="${env.DRY_RUN}" and --dry-run disagree: drop one of them`);
    return;
  }
  const action = ACTION_ALIASES[name];
  if (action && env.ACTION && ACTION_ALIASES[env.ACTION] !== action)
    throw new UsageError(
      `ACTION="${env.ACTION}" disagrees with the command "${name}": unset ACTION or run cim ${env.ACTION}`,
    );
  const pairs = [
    ['CUSTOMER', 'customer'],
    ['ENVIRONMENT', 'env'],
  ] as const;
  for (const [variable, option] of pairs) {
    const value = named[option];
    if (value !== undefined && env[variable] && env[variable] !== value)
      throw new UsageError(
        `${variable}="${env[variable]}" disagrees with --${option} ${value}: unset ${variable} or make them agree`,
      );
  }
  if (action && env.DRY_RUN !== undefined && env.DRY_RUN.trim() !== '') {
    const v = env.DRY_RUN.trim().toLowerCase();
    const legacyDry = v === 'true' || v === '1';
    if (legacyDry !== given.has('dry-run') && (legacyDry || given.has('dry-run')))
      throw new UsageError(
        `DRY_RUN="${env.DRY_RUN}" disagrees with ${given.has('dry-run') ? '--dry-run' : `the command line (no --dry-run): cim ${name} would change the environment`}; unset DRY_RUN or make them agree`,
      );
  }
}

/** Legacy variables win over the file, for this environment only. */
export function applyLegacy(config: Config, key: string, legacy: LegacySettings): Config {
  if (!Object.keys(legacy).length || !(key in config.environments)) return config;
  return {
    ...config,
    environments: { ...config.environments, [key]: { ...(config.environments[key] ?? {}), ...legacy } },
  };
}
