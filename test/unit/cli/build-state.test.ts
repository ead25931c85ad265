// bin/cim.mjs runs the built CLI only when it is newer than every file it was built from;
// otherwise it runs the sources (slow but current) and says so.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildState } from '../../../bin/build-state.mjs';

let dir: string;
const builtAt = Date.parse('2026-11-26T12:00:00Z');
const touch = (file: string, at: number) => {
  writeFileSync(join(dir, file), '');
  utimesSync(join(dir, file), at / 1000, at / 1000);
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cim-build-state-'));
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  mkdirSync(join(dir, 'cli'));
  touch('cli/main.ts', builtAt - 60_000);
  touch('package-lock.json', builtAt - 60_000);
  touch('dist/cli/main.js', builtAt + 1_000);
  writeFileSync(
    join(dir, 'dist', 'cli', 'build.json'),
    JSON.stringify({ builtAt, inputs: ['cli/main.ts', 'package-lock.json'] }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('buildState', () => {
  it('is fresh when every input is older than the build', () => {
    expect(buildState(dir)).toEqual({ fresh: true });
  });

  it('names the input changed after the build', () => {
    touch('cli/main.ts', builtAt + 5_000);
    expect(buildState(dir)).toEqual({ fresh: false, reason: 'cli/main.ts changed after dist/cli was built' });
  });

  it('names an input that is gone', () => {
    rmSync(join(dir, 'package-lock.json'));
    expect(buildState(dir)).toEqual({
      fresh: false,
      reason: 'dist/cli was built from package-lock.json, which is gone',
    });
  });

  it('says when there is no build', () => {
    rmSync(join(dir, 'dist'), { recursive: true });
    expect(buildState(dir)).toEqual({ fresh: false, reason: 'dist/cli is missing' });
  });
});
