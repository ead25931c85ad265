// How a handler becomes a Lambda bundle. One place, used by the stack (NodejsFunction),
// the bundle benchmark and the integration test that runs the built bundles.
//
// The configuration travels inside the bundle: the stack writes deployed-config.json once
// per synth and an afterBundling hook copies it next to the handler (a file has no size
// ceiling, an environment variable holds 4 KB and an esbuild --define argument 128 KiB);
// the file's digest is baked into the code with `define`, so the function refuses a file
// it was not bundled with, and a new configuration is a new asset.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build } from 'esbuild';
import type { Config } from '#core/config';
import { configDigest, DEPLOYED_CONFIG_FILE, DIGEST_DEFINE, deployedConfigJson } from '#core/deployed-config';

export const BUNDLE = {
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  /** The nodejs22.x runtime provides the AWS SDK v3. */
  external: ['@aws-sdk/*'],
  /** ESM bundles of CommonJS dependencies still call require(). */
  banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
} as const;

/** Writes the configuration as the functions receive it; returns the file's path. */
export function writeDeployedConfig(dir: string, config: Config, name = DEPLOYED_CONFIG_FILE): string {
  const file = join(dir, name);
  writeFileSync(file, deployedConfigJson(config));
  return file;
}

/** The esbuild `define` that bakes the configuration's digest into a bundle. */
export function digestDefine(digest: string): Record<string, string> {
  return { [DIGEST_DEFINE]: JSON.stringify(digest) };
}

const quote = (s: string) =>
  process.platform === 'win32' ? `"${s.replace(/"/g, '""')}"` : `'${s.replace(/'/g, `'\\''`)}'`;

/** NodejsFunction hooks that copy `configFile` into the bundle as deployed-config.json. */
export function configCommandHooks(configFile: string): ICommandHooks {
  const copy = process.platform === 'win32' ? 'copy /Y' : 'cp';
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir: string, outputDir: string) => [
      `${copy} ${quote(configFile)} ${quote(join(outputDir, DEPLOYED_CONFIG_FILE))}`,
    ],
  };
}

/**
 * Bundles one handler file to `outfile` exactly as the stack does (ESM, minified); with
 * `config`, also writes deployed-config.json next to it and bakes in its digest.
 */
export async function bundleHandler(entry: string, outfile: string, config?: Config): Promise<void> {
  const options: BuildOptions = {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    mainFields: [...BUNDLE.mainFields],
    external: [...BUNDLE.external],
    banner: { js: BUNDLE.banner },
    ...(config ? { define: digestDefine(configDigest(config)) } : {}),
    outfile,
    logLevel: 'silent',
  };
  await build(options);
  if (config) writeDeployedConfig(join(outfile, '..'), config);
}
