#!/usr/bin/env node
// Entry point of the `cim` command. The embedded engine needs Node.js 22; `npx cim` and
// `npm run` use the Node.js 22 binary that package.json pins (node-<platform>), so only a bare `node` can be too old.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `cim: needs Node.js 22 or newer, this is ${process.version}. Run it as "npx cim ..." from the project, which uses the pinned Node.js 22.\n`,
  );
  process.exit(64);
}
// The built CLI (dist/cli, made by `npm run build:cli`, which `npm ci` runs as `prepare`)
// starts in a fraction of the time. Without it, or when a source file changed since it was
// built, run the sources with tsx: correct but slow, so say how to get the fast start back.
const { buildState } = await import('./build-state.mjs');
const build = buildState();
if (build.fresh) {
  // V8 keeps the compiled bundle next to it: later starts skip most of the parsing.
  const [{ enableCompileCache }, { fileURLToPath }] = await Promise.all([
    import('node:module'),
    import('node:url'),
  ]);
  enableCompileCache?.(fileURLToPath(new URL('../dist/cli/.compile-cache', import.meta.url)));
  await import('../dist/cli/main.js');
} else {
  process.stderr.write(
    `cim: ${build.reason}: running from source (slow start); npm run build:cli fixes that\n`,
  );
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
