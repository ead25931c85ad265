// The repository's import graph, read from the source text: which files each file imports
// (static, dynamic, `import type`, `export ... from`, `typeof import(...)`) and which packages.
// Aliases resolve through package.json "imports". The architecture test checks the graph for
// cycles and for SDK imports outside lambdas/core/clients/.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';

/** Every module specifier a file names, in source order (comments and strings are not read). */
export function moduleSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const specs: string[] = [];
  const literal = (n: ts.Node | undefined) => {
    if (n && ts.isStringLiteralLike(n)) specs.push(n.text);
  };
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) literal(n.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference))
      literal(n.moduleReference.expression);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword)
      literal(n.arguments[0]);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) literal(n.argument.literal);
    ts.forEachChild(n, visit);
  };
  visit(source);
  return specs;
}

/** package.json "imports": `#core/*` → `./lambdas/core/*.ts`. */
export type ImportMap = Record<string, string>;

export type Resolved = { file: string } | { pkg: string } | { unresolved: string };

/** The package a bare specifier names: `@aws-sdk/client-s3/dist/x` → `@aws-sdk/client-s3`. */
export function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec);
}

/**
 * Where `spec`, imported by `from` (a repository-relative path with `/`), leads: a repository
 * file (when `isFile` says it exists), a package, or nothing that exists.
 */
export function resolveSpecifier(
  from: string,
  spec: string,
  imports: ImportMap,
  isFile: (path: string) => boolean,
): Resolved {
  let target = spec;
  if (spec.startsWith('#')) {
    const hit = Object.entries(imports).find(([k]) =>
      k.endsWith('*') ? spec.startsWith(k.slice(0, -1)) : spec === k,
    );
    if (!hit) return { unresolved: spec };
    const [key, to] = hit;
    target = key.endsWith('*') ? to.replace('*', spec.slice(key.length - 1)) : to;
    if (!target.startsWith('./')) return { pkg: packageOf(target) };
    target = posix.normalize(target);
  } else if (spec.startsWith('.')) {
    target = posix.normalize(posix.join(posix.dirname(from), spec));
  } else {
    return { pkg: packageOf(spec) };
  }
  for (const candidate of [target, `${target}.ts`, `${target}/index.ts`])
    if (isFile(candidate)) return { file: candidate };
  return { unresolved: spec };
}

export interface ImportGraph {
  /** Repository files each file imports. */
  files: Map<string, Set<string>>;
  /** Packages each file imports. */
  packages: Map<string, Set<string>>;
  /** Specifiers that lead nowhere, as `file: spec` (a typo, or a parser that missed a form). */
  unresolved: string[];
}

function tsFiles(root: string, dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = posix.join(dir, e.name);
    if (e.isDirectory()) tsFiles(root, p, out);
    else if (/\.(ts|mts)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The import graph of every .ts file under `roots` (repository-relative folders). */
export function importGraph(root: string, roots: string[]): ImportGraph {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { imports?: ImportMap };
  const imports = pkg.imports ?? {};
  const isFile = (p: string) => {
    const abs = join(root, ...p.split('/'));
    return existsSync(abs) && statSync(abs).isFile();
  };
  const graph: ImportGraph = { files: new Map(), packages: new Map(), unresolved: [] };
  for (const file of roots.flatMap((r) => tsFiles(root, r))) {
    const files = new Set<string>();
    const packages = new Set<string>();
    const text = readFileSync(join(root, ...file.split('/')), 'utf8');
    for (const spec of moduleSpecifiers(file, text)) {
      const r = resolveSpecifier(file, spec, imports, isFile);
      if ('file' in r) files.add(r.file);
      else if ('pkg' in r) packages.add(r.pkg);
      else graph.unresolved.push(`${file}: ${spec}`);
    }
    graph.files.set(file, files);
    graph.packages.set(file, packages);
  }
  return graph;
}

/**
 * The import cycles of a graph: each strongly connected component of more than one file, or
 * one file that imports itself, with one loop through it as an example. Edges to files outside
 * the graph's keys are ignored. Iterative Tarjan: deep import chains cannot overflow the stack.
 */
export function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): {
  files: string[];
  loop: string[];
}[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const succ = (v: string) => [...(graph.get(v) ?? [])].filter((w) => graph.has(w));
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { v: string; edges: string[]; i: number }[] = [];
    const enter = (v: string) => {
      index.set(v, next);
      low.set(v, next);
      next++;
      stack.push(v);
      onStack.add(v);
      work.push({ v, edges: succ(v), i: 0 });
    };
    enter(start);
    while (work.length > 0) {
      const top = work[work.length - 1] as { v: string; edges: string[]; i: number };
      if (top.i < top.edges.length) {
        const w = top.edges[top.i++] as string;
        if (!index.has(w)) enter(w);
        else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v) ?? 0, index.get(w) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v) ?? 0, low.get(top.v) ?? 0));
      if (low.get(top.v) === index.get(top.v)) {
        const c: string[] = [];
        let w: string | undefined;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          c.push(w);
        } while (w !== top.v);
        if (c.length > 1 || graph.get(top.v)?.has(top.v)) components.push(c.sort());
      }
    }
  }
  return components
    .sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''))
    .map((files) => ({ files, loop: loopThrough(graph, files) }));
}

/** The shortest loop from the component's first file back to itself, inside the component. */
function loopThrough(graph: ReadonlyMap<string, ReadonlySet<string>>, files: string[]): string[] {
  const inside = new Set(files);
  const first = files[0] as string;
  const cameFrom = new Map<string, string>();
  const queue = [first];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === first) {
        const back = [v];
        for (let u = cameFrom.get(v); u !== undefined; u = cameFrom.get(u)) back.push(u);
        // back runs v → … → first (first has no cameFrom), unless v is first itself.
        const path = back.reverse();
        return path[0] === first ? [...path, first] : [first, ...path, first];
      }
      if (w !== first && !cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [first];
}

/** The packages reached from the files `starts`, through repository files. */
export function reachablePackages(graph: ImportGraph, starts: readonly string[]): Set<string> {
  const seen = new Set(starts);
  const queue = [...starts];
  const packages = new Set<string>();
  while (queue.length > 0) {
    const f = queue.shift() as string;
    for (const p of graph.packages.get(f) ?? []) packages.add(p);
    for (const next of graph.files.get(f) ?? [])
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
  }
  return packages;
}
