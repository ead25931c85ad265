// README.md and docs/*.md name links, anchors, npm scripts, cim commands and repo paths; a
// moved file or a renamed script breaks them silently unless something reads them. This test
// does: every one of them must resolve, and the checker itself is shown to fail on a small bad
// document (a checker that passes everything would prove nothing).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { capture } from '../support/capture.ts';

const root = resolve(import.meta.dirname, '..', '..');

/** What a document's names are checked against. */
interface Repo {
  /** Every file in the repository, relative and with `/` (no node_modules, dist, .git). */
  files: readonly string[];
  /** Top-level entries: a code span starting with one of these and a `/` is a repo path. */
  topLevel: ReadonlySet<string>;
  scripts: ReadonlySet<string>;
  commands: ReadonlySet<string>;
  /** A Markdown file's text, for anchors in other documents; undefined if it does not exist. */
  read(path: string): string | undefined;
  exists(path: string): boolean;
}

const FENCE = /^\s*(```|~~~)/;

/** The prose lines (fenced code blocks removed) and the fenced lines, apart. */
function splitFences(text: string): { prose: string[]; code: string[] } {
  const prose: string[] = [];
  const code: string[] = [];
  let inFence = false;
  for (const line of text.split('\n')) {
    if (FENCE.test(line)) {
      inFence = !inFence;
      continue;
    }
    (inFence ? code : prose).push(line);
  }
  return { prose, code };
}

/** GitHub's heading anchor (github-slugger): lower case, punctuation dropped, spaces to `-`. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link shows its text
    .replace(/[`*]/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a document's headings, with GitHub's `-1`, `-2` for repeated ones. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of splitFences(text).prose) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m?.[1]) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The `##` headings of a document (its sections, which its table of contents must list). */
function sections(text: string): string[] {
  return splitFences(text)
    .prose.map((line) => /^##\s+(.*?)\s*$/.exec(line)?.[1])
    .filter((h): h is string => h !== undefined);
}

const codeSpans = (lines: string[]) =>
  lines.flatMap((l) => [...l.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? ''));

/** Every link target in the prose, code spans removed first (a link inside code is not a link). */
function links(text: string): string[] {
  const prose = splitFences(text).prose.map((l) => l.replace(/`[^`\n]*`/g, ''));
  return prose.flatMap((l) => [...l.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? ''));
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  return new RegExp(`^${body}$`);
}

/** The problems of one document (`file` relative to the root); none when everything resolves. */
function checkDoc(file: string, text: string, repo: Repo): string[] {
  const problems: string[] = [];
  const { prose, code } = splitFences(text);
  const own = anchors(text);

  for (const target of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
    const [path = '', anchor] = target.split('#', 2);
    const resolved = path === '' ? file : posix.normalize(posix.join(posix.dirname(file), path));
    if (path !== '' && (resolved.startsWith('..') || !repo.exists(resolved))) {
      problems.push(`${file}: link ${target}: ${resolved} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith('.md')) {
      problems.push(`${file}: link ${target}: an anchor into a file that is not Markdown`);
      continue;
    }
    const there = resolved === file ? own : anchors(repo.read(resolved) ?? '');
    if (!there.has(anchor)) problems.push(`${file}: link ${target}: no heading "#${anchor}" in ${resolved}`);
  }

  for (const m of text.matchAll(/npm run ([\w-]+(?::[\w-]+)*)/g))
    if (!repo.scripts.has(m[1] ?? ''))
      problems.push(`${file}: npm run ${m[1]}: no such script in package.json`);

  // `cim X` in code spans, and in code blocks where a line runs it (`cim X`, `npx cim X`);
  // comments dropped: "# ... cim says so" is prose.
  const named = [
    ...codeSpans(prose).flatMap((s) => [
      ...(/^(?:npx )?cim ([a-z][\w-]*)/.exec(s.trim())?.slice(1, 2) ?? []),
    ]),
    ...code.flatMap((l) =>
      [...l.replace(/(^|\s)#.*$/, '').matchAll(/(?:^\s*|npx )cim ([a-z][\w-]*)/g)].map((m) => m[1] ?? ''),
    ),
  ];
  for (const c of new Set(named))
    if (!repo.commands.has(c)) problems.push(`${file}: cim ${c}: not a command of cim (see cim --help)`);

  for (const span of new Set(codeSpans(prose).map((s) => s.trim()))) {
    const first = span.split('/')[0] ?? '';
    if (/^[\w.*-]+(\/[\w.*-]*)+$/.test(span) && repo.topLevel.has(first)) {
      const ok = span.includes('*')
        ? repo.files.some((f) => globToRegExp(span.replace(/\/$/, '')).test(f))
        : repo.exists(span.replace(/\/$/, ''));
      if (!ok) problems.push(`${file}: \`${span}\` does not exist`);
    } else if (/^[\w.-]+\.(ts|mjs)$/.test(span)) {
      // A bare file name (`quotas.test.ts`): some file of the repository has it.
      if (!repo.files.some((f) => posix.basename(f) === span))
        problems.push(`${file}: \`${span}\` is no file of the repository`);
    }
  }
  return problems;
}

// ------------------------------------------------------------------ the repository itself

const SKIP = new Set(['node_modules', 'dist', '.git', 'cdk.out', '.cache']);

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const full = join(dir, e.name);
    return e.isDirectory() ? listFiles(full) : [relative(root, full).split('\\').join('/')];
  });
}

const docFiles = () => [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

let repo: Repo;
beforeAll(async () => {
  // The command list from the CLI's own help, so a renamed or removed command fails here.
  process.env.CIM_CLI_NO_MAIN = '1';
  const { main } = await import('#cli/main');
  const io = capture();
  const code = await main(['--help'], {});
  const help = io.out() + io.err();
  vi.restoreAllMocks();
  expect(code, help).toBe(0);
  const commands = new Set(
    [...help.matchAll(/\bcim ([a-z][\w-]*(?:\|[a-z][\w-]*)*)/g)].flatMap((m) => (m[1] ?? '').split('|')),
  );
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  repo = {
    files: listFiles(root),
    topLevel: new Set(readdirSync(root).filter((n) => !SKIP.has(n))),
    scripts: new Set(Object.keys(pkg.scripts)),
    commands,
    read: (p) => (existsSync(join(root, p)) ? readFileSync(join(root, p), 'utf8') : undefined),
    exists: (p) => existsSync(join(root, p)),
  };
});

describe('the README and docs/', () => {
  it('have every link, anchor, npm script, cim command and repo path resolve', () => {
    const problems = docFiles().flatMap((f) => checkDoc(f, readFileSync(join(root, f), 'utf8'), repo));
    expect(problems).toEqual([]);
  });

  it('each list their sections in a table of contents', () => {
    for (const f of docFiles()) {
      const text = readFileSync(join(root, f), 'utf8');
      const linked = new Set(links(text).filter((l) => l.startsWith('#')));
      expect(sections(text), `${f}: a "Contents" section`).toContain('Contents');
      const missing = sections(text).filter((h) => h !== 'Contents' && !linked.has(`#${slug(h)}`));
      expect(missing, `${f}: sections missing from its table of contents`).toEqual([]);
    }
  });

  it('the README links to every page of docs/', () => {
    const linked = new Set(links(readFileSync(join(root, 'README.md'), 'utf8')).map((l) => l.split('#')[0]));
    const pages = docFiles().filter((f) => f !== 'README.md');
    expect(pages.length).toBeGreaterThan(0);
    for (const page of pages) expect(linked, page).toContain(page);
  });

  it('the README keeps the sections that cim’s own messages send readers to', () => {
    // Messages printed by cim and the JSON Schema's descriptions say `README "Kubernetes access"`;
    // they are output and stay byte for byte, so the README keeps a heading by that name.
    const pointers = new Set<string>();
    for (const f of repo.files.filter((p) => /^(lambdas|cli|infra)\/.*\.ts$/.test(p)))
      for (const line of readFileSync(join(root, f), 'utf8').split('\n'))
        if (!/^\s*(\/\/|\*|\/\*)/.test(line))
          for (const m of line.matchAll(/README,? "([^"]+)"/g)) pointers.add(m[1] ?? '');
    expect(pointers.size).toBeGreaterThan(0);
    const headings = splitFences(readFileSync(join(root, 'README.md'), 'utf8'))
      .prose.map((l) => /^#{1,6}\s+(.*)$/.exec(l)?.[1])
      .filter((h): h is string => h !== undefined);
    for (const p of pointers)
      expect(
        headings.some((h) => h.startsWith(p)),
        `README heading "${p}"`,
      ).toBe(true);
  });
});

describe('the docs checker', () => {
  const fake: Repo = {
    files: ['README.md', 'docs/a.md', 'test/workflow/quotas.test.ts', 'lambdas/core/errors.ts'],
    topLevel: new Set(['README.md', 'docs', 'test', 'lambdas']),
    scripts: new Set(['demo']),
    commands: new Set(['up', 'down']),
    read: (p) => (p === 'docs/a.md' ? '# A\n\n## Exit codes\n' : undefined),
    exists: (p) => ['README.md', 'docs/a.md', 'docs', 'test/workflow/quotas.test.ts'].includes(p),
  };

  it('finds nothing wrong in a document whose names all resolve', () => {
    const good = [
      '# Title',
      '## How `cim` is built',
      'See [exit codes](docs/a.md#exit-codes), [above](#how-cim-is-built), [AWS](https://aws.amazon.com/x#y).',
      'Run `npm run demo`, `cim up --customer a` and read `test/workflow/quotas.test.ts`, `quotas.test.ts`,',
      '`test/workflow/*.test.ts`, `fleet/{build}/items.json` (an S3 key) and `docs/`.',
      '```bash',
      'npx cim down --customer a   # without any, cim says so',
      '```',
    ].join('\n');
    expect(checkDoc('README.md', good, fake)).toEqual([]);
  });

  it('names every broken link, anchor, script, command and path of a bad document', () => {
    const bad = [
      '# Title',
      'See [gone](docs/gone.md), [wrong anchor](docs/a.md#exit-code), [here](#nowhere).',
      'Run `npm run demo-x` and `cim frobnicate`; read `test/peers/sandbox.ts`, `nothing.test.ts`',
      'and `test/workflow/fault-*.ts`.',
      '```bash',
      'npx cim wake --customer a',
      '```',
    ].join('\n');
    expect(checkDoc('README.md', bad, fake)).toEqual([
      'README.md: link docs/gone.md: docs/gone.md does not exist',
      'README.md: link docs/a.md#exit-code: no heading "#exit-code" in docs/a.md',
      'README.md: link #nowhere: no heading "#nowhere" in README.md',
      'README.md: npm run demo-x: no such script in package.json',
      'README.md: cim frobnicate: not a command of cim (see cim --help)',
      'README.md: cim wake: not a command of cim (see cim --help)',
      'README.md: `test/peers/sandbox.ts` does not exist',
      'README.md: `nothing.test.ts` is no file of the repository',
      'README.md: `test/workflow/fault-*.ts` does not exist',
    ]);
  });

  it('resolves links from a page in docs/ relative to that page', () => {
    const page = '# A\n## Exit codes\n[up](../README.md) [x](a.md#exit-codes) [y](../docs/a.md#a)';
    expect(checkDoc('docs/a.md', page, fake)).toEqual([]);
    expect(checkDoc('docs/a.md', '[x](docs/a.md)', fake)).toEqual([
      'docs/a.md: link docs/a.md: docs/docs/a.md does not exist',
    ]);
  });

  it('makes anchors as GitHub does', () => {
    expect(slug('Holds: "keep alpha/dev as it is until 23:00"')).toBe(
      'holds-keep-alphadev-as-it-is-until-2300',
    );
    expect(slug('How `cim` is built')).toBe('how-cim-is-built');
    expect(slug('Limits at 2,000 environments')).toBe('limits-at-2000-environments');
    expect([...anchors('# A\n## Run\n```\n# not a heading\n```\n## Run\n')]).toEqual(['a', 'run', 'run-1']);
  });
});
