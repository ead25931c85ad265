// Owns the configuration as the Lambdas receive it. At synth the stack writes the validated
// `defaults` and `environments` (and `wake`, the wake page's; no stack, schedules or kubernetes settings)
// to deployed-config.json and copies that file into every function's bundle, next to the
// handler; the bundle also carries the file's digest (esbuild `define`). No environment
// variable is involved, so the size of the fleet is not limited by Lambda's 4 KB.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CimError, ErrorNames } from '../errors.ts';
import { parseConfig } from './catalog.ts';
import type { Config } from './schema.ts';

/** The file's name inside a function's bundle (the Lambda task root). */
export const DEPLOYED_CONFIG_FILE = 'deployed-config.json';
/** Global replaced at bundling time by the digest of the bundled configuration. */
export const DIGEST_DEFINE = '__CIM_CONFIG_DIGEST__';
declare const __CIM_CONFIG_DIGEST__: string | undefined;

/** The part of the configuration the functions use. */
function deployedPart(config: Config): Pick<Config, 'defaults' | 'environments' | 'wake'> {
  // The wake page's section (issuer, hosts, rules: nothing secret) for its function; it does
  // not change the digest, which stays the settings the runs depend on.
  return {
    defaults: config.defaults,
    environments: config.environments,
    ...(config.wake ? { wake: config.wake } : {}),
  };
}

/** The content of deployed-config.json: a valid configuration file on its own. */
export function deployedConfigJson(config: Config): string {
  return `${JSON.stringify(deployedPart(config), null, 1)}\n`;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonical(v);
    }
    return out;
  }
  return value;
}

/**
 * Identifies the settings the functions run with: sha256 (hex, first 16 characters) of the
 * canonical JSON of `defaults` and `environments` (keys sorted at every level, arrays in
 * order, an environment written as `key:` counted as `key: {}`). Schedules, `stack` and
 * `kubernetes` do not change it. The CLI computes the same value from the file.
 */
export function configDigest(config: Config): string {
  const environments = Object.fromEntries(Object.entries(config.environments).map(([k, v]) => [k, v ?? {}]));
  const text = JSON.stringify(canonical({ defaults: config.defaults, environments }));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The task root in Lambda; elsewhere the directory of the running bundle (or of this module). */
function deployedConfigDir(): string {
  return process.env.LAMBDA_TASK_ROOT || dirname(fileURLToPath(import.meta.url));
}

const redeploy = 'deploy this function with the CDK stack, which bundles the configuration with it';

/** Reads and validates the configuration bundled with this function (once per cold start). */
export function loadDeployedConfig(dir: string = deployedConfigDir()): {
  config: Config;
  source: string;
  digest: string;
} {
  const path = join(dir, DEPLOYED_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `no deployed configuration at ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${redeploy}`,
    );
  }
  let config: Config;
  try {
    config = parseConfig(JSON.parse(text), `the deployed configuration (${path})`);
  } catch (err) {
    throw new CimError(ErrorNames.ConfigInvalid, `${(err as Error).message}\nTo fix it, ${redeploy}.`, {
      cause: err,
    });
  }
  const digest = configDigest(config);
  const bundled = typeof __CIM_CONFIG_DIGEST__ === 'string' ? __CIM_CONFIG_DIGEST__ : undefined;
  if (bundled !== undefined && bundled !== digest) {
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `the deployed configuration at ${path} has digest ${digest}, but this function was bundled with ${bundled}: ${redeploy}`,
    );
  }
  return { config, source: `the deployed configuration (digest ${digest})`, digest };
}
