// How a handler becomes a Lambda bundle. One place, used by the stack (NodejsFunction),
// the bundle benchmark and the integration test that runs the built bundles.
import { type BuildOptions, build } from 'esbuild';

export const BUNDLE = {
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  /** The nodejs22.x runtime provides the AWS SDK v3. */
  external: ['@aws-sdk/*'],
  /** ESM bundles of CommonJS dependencies still call require(). */
  banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
} as const;

/** Bundles one handler file to `outfile` exactly as the stack does (ESM, minified). */
export async function bundleHandler(entry: string, outfile: string): Promise<void> {
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
    outfile,
    logLevel: 'silent',
  };
  await build(options);
}
