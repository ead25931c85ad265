import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, resolveEnvironment } from '#core/config';
import { configJsonSchema, loadConfigFile } from '#core/config-file';
import { fixture } from '../../fixtures/world.ts';

const minimal = (over: Record<string, unknown> = {}) => ({
  defaults: {
    cluster: 'eks-dev-cluster',
    region: 'us-east-1',
    bucket: 'customer-infra-manager',
    deployments: [{ name: 'web' }],
  },
  environments: { 'alpha/dev': {} },
  ...over,
});
const configError = (data: unknown) => {
  try {
    parseConfig(data, 'env.yaml');
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a configuration error');
};

describe('configuration', () => {
  it("resolves the legacy tool's names by default", () => {
    const env = resolveEnvironment(loadConfigFile('environments.yaml'), 'alpha', 'dev');
    expect(env).toMatchObject({
      namespace: 'alpha-dev',
      database: { kind: 'instance', identifier: 'alpha-dev-rds' },
      keyPrefix: 'eks-dev-cluster/alpha/dev',
      bucket: 'customer-infra-manager',
      bucketRegion: 'us-east-1',
    });
    expect(env.deployments).toEqual([
      {
        name: 'frontend-deployment',
        namespace: 'alpha-dev',
        healthUrl: 'https://frontend-dev-alpha.example.com/healthz',
      },
      {
        name: 'backend-deployment',
        namespace: 'alpha-dev',
        healthUrl: 'https://backend-dev-alpha.example.com/healthz',
      },
    ]);
  });

  it('applies per-environment overrides over the defaults, deep for waits and database', () => {
    const env = resolveEnvironment(loadConfigFile('environments.yaml'), 'beta', 'staging');
    expect(env.database).toEqual({ kind: 'cluster', identifier: 'beta-staging-aurora' });
    expect(env.waits.databaseStart).toEqual({ expectedSeconds: 600, timeoutSeconds: 3600 });
  });

  it('names the unknown environment and the known ones', () => {
    expect(() => resolveEnvironment(parseConfig(minimal(), 'env.yaml'), 'beta', 'dev', 'env.yaml')).toThrow(
      'environment "beta/dev" not found in env.yaml (known: alpha/dev)',
    );
  });

  it('names the file, the path inside it and what is expected', () => {
    const err = configError(minimal({ environments: { 'alpha/dev': { database: { kind: 'rds' } } } }));
    expect(err.name).toBe('ConfigInvalid');
    expect(err.message).toMatch(/^env\.yaml is not a valid configuration/);
    expect(err.message).toContain('environments["alpha/dev"].database.kind');
    expect(err.message).toMatch(/instance.*cluster/);
  });

  it.each([
    [{ environments: { 'Alpha/dev': {} } }, /customer\/environment/],
    [{ environments: {} }, /at least one environment/],
    [{ defaults: { ...minimal().defaults, namespace: '{tenant}-{environment}' } }, /unknown placeholder/],
    [{ defaults: { ...minimal().defaults, unknownKey: 1 } }, /unknownKey|Unrecognized/],
    [
      { schedules: [{ name: 'n', action: 'down', cron: '0 20 * * ? *', environments: ['zeta/dev'] }] },
      /names environment "zeta\/dev"/,
    ],
    [
      { schedules: [{ name: 'n', action: 'down', cron: '0 20 * *', environments: ['alpha/dev'] }] },
      /six fields/,
    ],
    [{ defaults: { ...minimal().defaults, lockTtlSeconds: 600 } }, /lockTtlSeconds \(600\) is shorter/],
    [
      { defaults: { ...minimal().defaults, keyPrefix: '{cluster}//{customer}' } },
      /empty, "\." or "\.\." segment/,
    ],
  ])('refuses %j', (over, message) => {
    expect(configError(minimal(over)).message).toMatch(message);
  });

  it('reports a file that does not parse, with its name', () => {
    const path = join(tmpdir(), `cim-bad-${process.pid}.yaml`);
    writeFileSync(path, 'defaults: [\n');
    expect(() => loadConfigFile(path)).toThrow(new RegExp(`${path} does not parse`));
    expect(() => loadConfigFile(join(tmpdir(), 'missing-cim.yaml'))).toThrow(
      /cannot read configuration file .*--config/,
    );
  });

  it('ships a JSON Schema that matches the validator', () => {
    expect(JSON.parse(readFileSync('config/environments.schema.json', 'utf8'))).toEqual(configJsonSchema());
  });

  it('loads the test fixture', () => {
    expect(Object.keys(loadConfigFile(fixture('environments.yaml')).environments)).toEqual([
      'alpha/dev',
      'beta/staging',
      'gamma/dev',
    ]);
  });
});
