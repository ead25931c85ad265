// Is the built CLI (dist/cli) there and newer than every source file it was built from?
// scripts/build-cli.ts lists those files in dist/cli/build.json with the time the build
// started; a file changed (or removed) since then makes the build stale. A few hundred
// stat calls: about a millisecond.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** @returns {{ fresh: true } | { fresh: false, reason: string }} */
export function buildState(dir = root) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'dist', 'cli', 'build.json'), 'utf8'));
    statSync(join(dir, 'dist', 'cli', 'main.js'));
  } catch {
    return { fresh: false, reason: 'dist/cli is missing' };
  }
  for (const file of manifest.inputs) {
    let mtime;
    try {
      mtime = statSync(join(dir, file)).mtimeMs;
    } catch {
      return { fresh: false, reason: `dist/cli was built from ${file}, which is gone` };
    }
    if (mtime > manifest.builtAt) return { fresh: false, reason: `${file} changed after dist/cli was built` };
  }
  return { fresh: true };
}
