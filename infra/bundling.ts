// How a handler becomes a Lambda bundle. One place, used by the stack (NodejsFunction),
// the bundle benchmark and the integration test that runs the built bundles.
//
// The configuration travels inside the bundle: the stack writes deployed-config.json once
// per synth and an afterBundling hook copies it next to the handler (a file has no size
// ceiling, an environment variable holds 4 KB and an esbuild --define argument 128 KiB);
// the file's digest is baked into the code with `define`, so the function refuses a file
// it was not bundled with, and a new configuration is a new asset.
//
// Lean bundles (a cold start imports the whole bundle): esbuild aliases, plain esbuild
// options so that the stack's NodejsFunction passes them too, point packages at the entry
// points in bundle-shims/:
//  - @kubernetes/client-node: the kubeconfig and the three API groups the functions call,
//    without exec/attach/port-forward/cp/watch/informers and their dependencies;
//  - whatwg-url: node-fetch's fallback URL parser, never used on Node, by the platform's URL;
//  - each @aws-sdk/* package the functions take from the runtime (aws-sdk/*.cjs): loaded with
//    require() by Node's CommonJS loader; an ESM `import` of the same CommonJS package costs
//    about half as much again (Node's ESM loader detects each file's format and scans the
//    package for its exports).
// The SDK clients whose semantics the code depends on are bundled instead (BUNDLED_SDK): the
// version the tests ran is the version that runs. S3: `IfMatch` on PutObject and DeleteObject
// entered the S3 model in late November 2024; a runtime SDK older than that sends no header
// for a member it does not model and raises no error, so the lock and the record replacements
// would silently become unconditional (AWS's SDK guide also advises bundling the SDK). Their
// credential chain stays the runtime's (@aws-sdk/credential-provider-node: no semantics of
// ours, and ~130 KiB that would push the largest bundle over 1.5 MB).
// And the code imports zod as a namespace (`import * as z`), which lets esbuild leave out
// the ~40 message locales that `import { z }` drags in (250 KB).
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build } from 'esbuild';
import { configDigest, DEPLOYED_CONFIG_FILE, DIGEST_DEFINE, deployedConfigJson } from '#core/config/deployed';
import type { Config } from '#core/config/schema';

/** The project root: esbuild's working directory here and in NodejsFunction (aliases are relative to it). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** SDK clients bundled with the functions, with the @aws-sdk/* packages they need (see the header). */
export const BUNDLED_SDK: readonly string[] = ['@aws-sdk/client-s3'];

/** The @aws-sdk/* packages the nodejs22.x runtime provides to the functions (one shim each). */
const runtimeSdk = readdirSync(join(PROJECT_ROOT, 'infra', 'bundle-shims', 'aws-sdk'))
  .filter((f) => f.endsWith('.cjs'))
  .map((f) => `@aws-sdk/${f.replace(/\.cjs$/, '')}`);

export const BUNDLE = {
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  /** From the runtime: its SDK clients but BUNDLED_SDK, and the credential chain. */
  external: [...runtimeSdk, '@aws-sdk/credential-provider-node'],
  /** ESM bundles of CommonJS dependencies still call require(). */
  banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
} as const;

/** Package → trimmed entry point (relative to the project root); see the header. */
export const ALIASES: Readonly<Record<string, string>> = {
  '@kubernetes/client-node': './infra/bundle-shims/client-node.ts',
  'whatwg-url': './infra/bundle-shims/whatwg-url.ts',
  ...Object.fromEntries(
    runtimeSdk.map((name) => [name, `./infra/bundle-shims/aws-sdk/${name.slice('@aws-sdk/'.length)}.cjs`]),
  ),
};

/** NodejsFunction's `esbuildArgs` for ALIASES. */
export const esbuildAliasArgs = (): Record<string, string[]> => ({
  '--alias': Object.entries(ALIASES).map(([name, path]) => `${name}=${path}`),
});

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
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    mainFields: [...BUNDLE.mainFields],
    external: [...BUNDLE.external],
    alias: { ...ALIASES },
    banner: { js: BUNDLE.banner },
    ...(config ? { define: digestDefine(configDigest(config)) } : {}),
    outfile,
    logLevel: 'silent',
  };
  await build(options);
  if (config) writeDeployedConfig(join(outfile, '..'), config);
}
