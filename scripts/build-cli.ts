// npm run build:cli (also the `prepare` script, so `npm ci` leaves a ready `cim`):
//  1. renders the three workflow definitions from the CDK constructs (the same code the
//     stack uses), validates them with the local engine's validator, and writes them to
//     dist/definitions/{environment,fleet,guard}.asl.json;
//  2. bundles the CLI (cli/main.ts) with esbuild into dist/cli/: minified JavaScript, one
//     chunk per lazily imported part, so `cim --help` loads neither a client nor the engine;
//     the definitions of step 1 take the place of cli/engine/definitions-from-constructs.ts, so a
//     run loads neither aws-cdk-lib nor the validator (scripts/cli-shims/);
//  3. writes dist/cli/build.json, the source files it was built from, so that bin/cim.mjs
//     can tell a build older than the sources (it then runs them with tsx, slow but right).
// Everything it writes is under dist/ (git-ignored); run it again after changing the sources.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';
import { build, type Plugin } from 'esbuild';
import { WORKFLOWS } from '#cli/engine/definitions';
import { loadDefinition } from '#cli/engine/definitions-from-constructs';
import { ALIASES } from '#infra/bundling';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = {
  definitions: join(root, 'dist', 'definitions'),
  cli: join(root, 'dist', 'cli'),
};
export const definitionFile = (workflow: string) => join(DIST.definitions, `${workflow}.asl.json`);

/** Step 1: the workflow definitions as the CDK constructs render them, validated. */
export async function generateDefinitions(): Promise<void> {
  rmSync(DIST.definitions, { recursive: true, force: true });
  mkdirSync(DIST.definitions, { recursive: true });
  for (const workflow of WORKFLOWS) {
    const definition = await loadDefinition(workflow);
    // Throws, naming the errors, for a definition the engine would refuse. On a copy: the
    // validator writes a default QueryLanguage into every state it checks.
    // biome-ignore lint/suspicious/noExplicitAny: the engine takes its own ASL type; ours is plain JSON
    new StateMachine(structuredClone(definition) as any, {
      validationOptions: { checkArn: true, checkPaths: true },
    });
    writeFileSync(definitionFile(workflow), `${JSON.stringify(definition, null, 2)}\n`);
  }
}

/** Serves the generated definitions in place of the module that renders them with aws-cdk-lib. */
const generatedDefinitions: Plugin = {
  name: 'generated-definitions',
  setup(b) {
    b.onResolve({ filter: /[/\\]definitions-from-constructs\.ts$/ }, () => ({
      path: 'generated-definitions',
      namespace: 'cim',
    }));
    b.onLoad({ filter: /.*/, namespace: 'cim' }, () => ({
      resolveDir: root,
      loader: 'js',
      contents: [
        ...WORKFLOWS.map((w) => `import ${w} from ${JSON.stringify(definitionFile(w))};`),
        `const definitions = { ${WORKFLOWS.join(', ')} };`,
        'export const validatedAtBuild = true;',
        'export async function loadDefinition(workflow) { return definitions[workflow]; }',
      ].join('\n'),
    }));
  },
};

const sourcesUnder = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));

/** Step 2 and 3: the bundle, and the list of what it was built from. */
export async function bundleCli(builtAt: number): Promise<void> {
  rmSync(DIST.cli, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: join(root, 'cli', 'main.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // ES modules of the AWS SDK where packages ship them: esbuild drops what is not used.
    mainFields: ['module', 'main'],
    // Less to parse at each start; `NODE_OPTIONS=--enable-source-maps cim ...` maps stack traces back.
    minify: true,
    sourcemap: 'linked',
    outdir: DIST.cli,
    chunkNames: 'chunks/[name]-[hash]',
    // ESM chunks of CommonJS dependencies still call require().
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    // The Lambda bundles' trimmed client-node and whatwg-url (infra/bundling.ts); the AWS SDK
    // is bundled here, the Lambda runtime's own is not part of a CLI install.
    alias: {
      '@kubernetes/client-node': ALIASES['@kubernetes/client-node'] as string,
      'whatwg-url': ALIASES['whatwg-url'] as string,
      'asl-validator': './scripts/cli-shims/asl-validator.ts',
      '@aws-sdk/client-lambda': './scripts/cli-shims/client-lambda.ts',
    },
    plugins: [generatedDefinitions],
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(join(DIST.cli, 'meta.json'), JSON.stringify(result.metafile));
  const bundled = Object.keys(result.metafile.inputs).filter(
    (f) => !f.startsWith('node_modules/') && !f.includes(':') && f.endsWith('.ts'),
  );
  // The definitions come from infra/ (and what it imports from lambdas/core/, already listed).
  const inputs = [
    ...new Set([
      ...bundled,
      ...sourcesUnder('infra'),
      relative(root, fileURLToPath(import.meta.url)),
      'package.json',
      'package-lock.json',
    ]),
  ].sort();
  writeFileSync(join(DIST.cli, 'build.json'), `${JSON.stringify({ builtAt, inputs }, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  await generateDefinitions();
  await bundleCli(t0);
  process.stdout.write(
    `cim: built dist/cli and dist/definitions in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}
