// The rules that keep the layout (issue 17): no import cycle among the product's files, types
// included; no AWS SDK, Smithy or Kubernetes client import in lambdas/core outside
// lambdas/core/clients/, nor in the handlers beyond the list below. Read from the source text,
// so a rule broken anywhere fails here with the files to look at.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  findCycles,
  importGraph,
  moduleSpecifiers,
  reachablePackages,
  resolveSpecifier,
} from '#test/support/import-graph';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folders checked: the product's code. */
const ROOTS = ['lambdas', 'infra', 'cli'];

const SDK = /^(@aws-sdk\/|@smithy\/|@kubernetes\/client-node$)/;

/** SDK packages a handler may import itself (today none: they reach AWS through core/clients). */
const HANDLER_SDK: Record<string, string[]> = {};

const graph = importGraph(root, ROOTS);
const sdkImports = (file: string) => [...(graph.packages.get(file) ?? [])].filter((p) => SDK.test(p));

describe('the import graph of lambdas/, infra/ and cli/', () => {
  it('is read from every file, and every import in it leads to a file or a package', () => {
    expect(graph.files.size).toBeGreaterThan(100);
    expect(graph.files.get('lambdas/core/contracts.ts')).toContain('lambdas/core/errors.ts');
    expect(graph.packages.get('lambdas/core/clients/s3-store.ts')).toContain('@aws-sdk/client-s3');
    expect(graph.unresolved).toEqual([]);
  });

  it('has no import cycle, `import type` included', () => {
    const cycles = findCycles(graph.files).map(
      (c) => `${c.files.length} files: ${c.files.join(', ')}\n  e.g. ${c.loop.join(' → ')}`,
    );
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('keeps the SDK and Kubernetes clients of lambdas/core in lambdas/core/clients/', () => {
    const outside = [...graph.packages.keys()]
      .filter((f) => f.startsWith('lambdas/core/') && !f.startsWith('lambdas/core/clients/'))
      .flatMap((f) => sdkImports(f).map((p) => `${f}: ${p}`));
    expect(outside).toEqual([]);
  });

  it('lets the handlers import no SDK beyond their list', () => {
    const extra = [...graph.packages.keys()]
      .filter((f) => f.startsWith('lambdas/handlers/'))
      .flatMap((f) =>
        sdkImports(f)
          .filter((p) => !(HANDLER_SDK[f] ?? []).includes(p))
          .map((p) => `${f}: ${p}`),
      );
    expect(extra).toEqual([]);
  });
});

describe('the Kubernetes client in the Lambda bundles', () => {
  const KUBE = 'lambdas/core/clients/kubernetes.ts';
  const handlers = [...graph.files.keys()].filter(
    (f) => f.startsWith('lambdas/handlers/') && f !== 'lambdas/handlers/index.ts',
  );

  it('is bundled only by the handlers that import clients/kubernetes.ts themselves', () => {
    // Everything a handler imports but clients/kubernetes.ts must stay clear of client-node:
    // a domain module importing it would put it in every function that uses the module.
    const leaks = handlers.filter((h) =>
      reachablePackages(
        graph,
        [...(graph.files.get(h) ?? [])].filter((f) => f !== KUBE),
      ).has('@kubernetes/client-node'),
    );
    expect(leaks).toEqual([]);
  });

  it('is reached by the handlers that talk to Kubernetes, and only by them', () => {
    const kube = handlers.filter((h) => graph.files.get(h)?.has(KUBE));
    expect(kube).toContain('lambdas/handlers/prepare.ts');
    for (const h of handlers)
      expect(reachablePackages(graph, [h]).has('@kubernetes/client-node'), h).toBe(kube.includes(h));
  });
});

describe('reading imports', () => {
  it('finds static, type-only, re-exported, dynamic and type-query imports, and nothing in comments or strings', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from '#core/b';",
      "import './side-effect.ts';",
      "export { c } from './c.ts';",
      "export * from './d.ts';",
      "export type { E } from './e.ts';",
      "const f = await import('./f.ts');",
      "type G = typeof import('./g.ts');",
      "import h = require('./h.ts');",
      "// import { x } from './commented.ts';",
      'const s = "import { y } from \'./in-a-string.ts\'";',
    ].join('\n');
    expect(moduleSpecifiers('x.ts', text)).toEqual([
      './a.ts',
      '#core/b',
      './side-effect.ts',
      './c.ts',
      './d.ts',
      './e.ts',
      './f.ts',
      './g.ts',
      './h.ts',
    ]);
  });

  it('resolves aliases through package.json "imports", relative paths, and packages', () => {
    const imports = {
      '#core/*': './lambdas/core/*.ts',
      '#client-node/*': '@kubernetes/client-node/dist/*',
    };
    const files = new Set(['lambdas/core/errors.ts', 'lambdas/core/run/fence.ts', 'lambdas/core/x/index.ts']);
    const isFile = (p: string) => files.has(p);
    const from = 'lambdas/core/run/changes.ts';
    expect(resolveSpecifier(from, '#core/errors', imports, isFile)).toEqual({
      file: 'lambdas/core/errors.ts',
    });
    expect(resolveSpecifier(from, './fence.ts', imports, isFile)).toEqual({
      file: 'lambdas/core/run/fence.ts',
    });
    expect(resolveSpecifier(from, '../x', imports, isFile)).toEqual({ file: 'lambdas/core/x/index.ts' });
    expect(resolveSpecifier(from, '#client-node/watch.js', imports, isFile)).toEqual({
      pkg: '@kubernetes/client-node',
    });
    expect(resolveSpecifier(from, '@aws-sdk/client-s3', imports, isFile)).toEqual({
      pkg: '@aws-sdk/client-s3',
    });
    expect(resolveSpecifier(from, 'zod/v4', imports, isFile)).toEqual({ pkg: 'zod' });
    expect(resolveSpecifier(from, './missing.ts', imports, isFile)).toEqual({ unresolved: './missing.ts' });
    expect(resolveSpecifier(from, '#nowhere/x', imports, isFile)).toEqual({ unresolved: '#nowhere/x' });
  });
});

describe('the cycle finder', () => {
  const g = (edges: Record<string, string[]>) =>
    new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));

  it('finds none in a graph without cycles, a diamond included', () => {
    expect(findCycles(g({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [] }))).toEqual([]);
  });

  it('names exactly the files of a cycle, not the files that only import into it', () => {
    const cycles = findCycles(g({ entry: ['a'], a: ['b'], b: ['c'], c: ['a', 'leaf'], leaf: [] }));
    expect(cycles).toEqual([{ files: ['a', 'b', 'c'], loop: ['a', 'b', 'c', 'a'] }]);
  });

  it('counts a file that imports itself, and keeps two separate cycles apart', () => {
    const cycles = findCycles(g({ self: ['self'], p: ['q'], q: ['p'], r: ['p'] }));
    expect(cycles).toEqual([
      { files: ['p', 'q'], loop: ['p', 'q', 'p'] },
      { files: ['self'], loop: ['self', 'self'] },
    ]);
  });

  it('gives a loop whose every step is an import, through a component with shortcuts', () => {
    const edges = { a: ['b', 'x'], b: ['c'], c: ['d', 'a'], d: ['b'], x: [] };
    const [cycle] = findCycles(g(edges));
    expect(cycle?.files).toEqual(['a', 'b', 'c', 'd']);
    const loop = cycle?.loop ?? [];
    expect(loop[0]).toBe('a');
    expect(loop.at(-1)).toBe('a');
    for (let i = 1; i < loop.length; i++) expect(edges[loop[i - 1] as keyof typeof edges]).toContain(loop[i]);
  });

  it('ignores imports of files outside the graph', () => {
    expect(findCycles(g({ a: ['outside'], b: ['a'] }))).toEqual([]);
  });
});
