#!/usr/bin/env node
// Entry point of the `cim` command. The embedded engine needs Node.js 22; `npx cim` and
// `npm run` use the node@22 that package.json pins, so only a bare `node` can be too old.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `cim: needs Node.js 22 or newer, this is ${process.version}. Run it as "npx cim ..." from the project, which uses the pinned node@22.\n`,
  );
  process.exit(64);
}
const { register } = await import('tsx/esm/api');
register();
await import('../cli/main.ts');
