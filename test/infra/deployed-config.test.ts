// How the configuration reaches the Lambdas: deployed-config.json in the bundle, its digest
// baked into the code. Checked on the module and on a real bundle of a handler.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import {
  configDigest,
  DEPLOYED_CONFIG_FILE,
  deployedConfigJson,
  loadDeployedConfig,
} from '#core/config/deployed';
import { loadConfigFile } from '#core/config/file';
import { bundleHandler, configCommandHooks, writeDeployedConfig } from '#infra/bundling';
import { fixture } from '../support/world.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const config = loadConfigFile(fixture('environments.yaml'));
const tmp = () => mkdtempSync(join(tmpdir(), 'cim-deployed-'));

describe('configDigest', () => {
  const base = {
    defaults: { cluster: 'c1', region: 'us-east-1', bucket: 'bkt', deployments: [{ name: 'web' }] },
    environments: { 'alpha/dev': {}, 'beta/dev': { namespace: 'b' } } as Record<string, unknown>,
  };

  it('is 16 hex characters that depend on defaults and environments only', () => {
    const d = configDigest(parseConfig(base, 'a'));
    expect(d).toMatch(/^[0-9a-f]{16}$/);
    const reordered = {
      environments: { 'beta/dev': { namespace: 'b' }, 'alpha/dev': null },
      defaults: { deployments: [{ name: 'web' }], bucket: 'bkt', region: 'us-east-1', cluster: 'c1' },
      schedules: [{ name: 's', action: 'down', cron: '0 20 ? * MON-FRI *', environments: ['alpha/dev'] }],
      stack: { stackName: 'Other' },
      kubernetes: { context: 'x' },
    };
    expect(configDigest(parseConfig(reordered, 'b'))).toBe(d);
    const added = { ...base, environments: { ...base.environments, 'gamma/dev': {} } };
    expect(configDigest(parseConfig(added, 'c'))).not.toBe(d);
  });

  it('survives the trip through deployed-config.json', () => {
    const shipped = JSON.parse(deployedConfigJson(config));
    expect(Object.keys(shipped)).toEqual(['defaults', 'environments']);
    expect(configDigest(parseConfig(shipped, 'shipped'))).toBe(configDigest(config));
  });
});

describe('loadDeployedConfig', () => {
  const saved = process.env.LAMBDA_TASK_ROOT;
  afterEach(() => {
    if (saved === undefined) delete process.env.LAMBDA_TASK_ROOT;
    else process.env.LAMBDA_TASK_ROOT = saved;
  });

  it('reads the file in the Lambda task root, validated, with its digest', () => {
    const dir = tmp();
    writeDeployedConfig(dir, config);
    process.env.LAMBDA_TASK_ROOT = dir;
    const loaded = loadDeployedConfig();
    expect(Object.keys(loaded.config.environments)).toEqual(['alpha/dev', 'beta/staging', 'gamma/dev']);
    expect(loaded.config.schedules).toEqual([]);
    expect(loaded.digest).toBe(configDigest(config));
    expect(loaded.source).toBe(`the deployed configuration (digest ${loaded.digest})`);
  });

  it('refuses a missing, unreadable or invalid file and says to deploy with the stack', () => {
    const dir = tmp();
    expect(() => loadDeployedConfig(dir)).toThrow(
      expect.objectContaining({
        name: 'ConfigInvalid',
        message: expect.stringMatching(
          /no deployed configuration at .*deployed-config\.json.*deploy this function with the CDK stack/,
        ),
      }),
    );
    writeFileSync(join(dir, DEPLOYED_CONFIG_FILE), '{"defaults":');
    expect(() => loadDeployedConfig(dir)).toThrow(/deploy this function with the CDK stack/);
    writeFileSync(join(dir, DEPLOYED_CONFIG_FILE), '{"defaults":{},"environments":{}}');
    expect(() => loadDeployedConfig(dir)).toThrow(
      expect.objectContaining({
        name: 'ConfigInvalid',
        message: expect.stringMatching(
          /environments: describe at least one environment[\s\S]*deploy this function with the CDK stack/,
        ),
      }),
    );
  });
});

describe('a bundled handler', () => {
  // Under the repository, so that the bundles resolve the external @aws-sdk/* packages.
  const out = join(root, '.cache', 'test-bundles-infra');
  mkdirSync(out, { recursive: true });
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const entry = join(root, 'lambdas', 'handlers', 'check-health.ts');
  const load = async (dir: string) =>
    (await import(pathToFileURL(join(dir, 'index.mjs')).href)).handler as (e: unknown) => Promise<unknown>;

  it('carries the configuration and its digest, and reads them when invoked', async () => {
    const dir = mkdtempSync(join(out, 'with-'));
    await bundleHandler(entry, join(dir, 'index.mjs'), config);
    const digest = configDigest(config);
    expect(readFileSync(join(dir, 'index.mjs'), 'utf8')).toContain(`"${digest}"`);
    expect(JSON.parse(readFileSync(join(dir, DEPLOYED_CONFIG_FILE), 'utf8')).environments).toHaveProperty([
      'alpha/dev',
    ]);
    // The configuration loads; what fails is the (empty) event.
    const handler = await load(dir);
    await expect(handler({})).rejects.toMatchObject({ name: 'InvalidInput' });
  }, 60_000);

  it('refuses to run without its file, or with a file of another configuration', async () => {
    const dir = mkdtempSync(join(out, 'without-'));
    await bundleHandler(entry, join(dir, 'index.mjs'), config);
    const other = parseConfig(
      { ...JSON.parse(deployedConfigJson(config)), environments: { 'zeta/dev': {} } },
      'other',
    );
    writeDeployedConfig(dir, other);
    await expect((await load(dir))({})).rejects.toMatchObject({
      name: 'ConfigInvalid',
      message: expect.stringMatching(
        /was bundled with [0-9a-f]{16}: deploy this function with the CDK stack/,
      ),
    });
    const bare = mkdtempSync(join(out, 'bare-'));
    await bundleHandler(entry, join(bare, 'index.mjs'));
    await expect((await load(bare))({})).rejects.toMatchObject({
      name: 'ConfigInvalid',
      message: expect.stringMatching(/no deployed configuration .*deploy this function with the CDK stack/),
    });
  }, 60_000);

  it('is what the stack copies in after bundling', () => {
    // A path with a quote in it, under the temp directory: the copy quotes it for the shell.
    const dir = join(tmpdir(), "it's");
    const out = join(tmpdir(), 'asset-output');
    const hooks = configCommandHooks(join(dir, 'abc.json'));
    const quoted = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;
    expect(hooks.afterBundling(join(tmpdir(), 'in'), out)).toEqual([
      `cp ${quoted(join(dir, 'abc.json'))} ${quoted(join(out, DEPLOYED_CONFIG_FILE))}`,
    ]);
    expect(hooks.afterBundling(join(tmpdir(), 'in'), out)[0]).toContain("it'\\''s");
    expect(hooks.beforeBundling(join(tmpdir(), 'in'), out)).toEqual([]);
  });
});
