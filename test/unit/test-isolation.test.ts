// The fast tier runs most unit and workflow files in one shared module registry per worker
// (vitest.config.ts, project fast-shared). A file that replaces a module, mocks an SDK
// client's prototype or changes process-wide state would leak into the files after it, so
// it must be listed in ISOLATED. This test finds such files and fails on any not listed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ISOLATED } from '../../vitest.config.ts';

const root = resolve(import.meta.dirname, '..', '..');
const LEAKY =
  /vi\.(mock|doMock|stubEnv|stubGlobal|resetModules|spyOn)\(|mockClient\(|process\.env\.[A-Za-z_]+ *=[^=]|process\.env\[[^\]]+\] *=[^=]|delete process\.env|process\.on\(/;

function testFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

/** The globs in ISOLATED use `*` within one path segment only. */
function matchesGlob(file: string, glob: string): boolean {
  const re = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return re.test(file);
}

describe('the split between isolated and shared test files', () => {
  it('matches globs within one path segment', () => {
    expect(matchesGlob('test/unit/handlers/runtime.test.ts', 'test/unit/handlers/*.test.ts')).toBe(true);
    expect(matchesGlob('test/unit/handlers/x/runtime.test.ts', 'test/unit/handlers/*.test.ts')).toBe(false);
    expect(matchesGlob('test/unit/cli/cli.test.ts', 'test/unit/cli/exit-codes.test.ts')).toBe(false);
  });

  it('finds the files that would leak state, and each is isolated', () => {
    const files = [...testFiles('test/unit'), ...testFiles('test/workflow')].map((f) =>
      relative(root, join(root, f)),
    );
    const leaky = files.filter((f) => LEAKY.test(readFileSync(join(root, f), 'utf8')));
    expect(leaky.length).toBeGreaterThan(5);
    const notIsolated = leaky.filter(
      (f) => f !== 'test/unit/test-isolation.test.ts' && !ISOLATED.some((g) => matchesGlob(f, g)),
    );
    expect(notIsolated).toEqual([]);
  });

  it('lists no glob that matches nothing', () => {
    const files = [...testFiles('test/unit'), ...testFiles('test/workflow')];
    expect(ISOLATED.filter((g) => !files.some((f) => matchesGlob(f, g)))).toEqual([]);
  });
});
