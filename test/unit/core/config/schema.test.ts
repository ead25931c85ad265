import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listEnvironments, parseConfig, resolveEnvironment } from '#core/config/catalog';
import { configJsonSchema, loadConfigFile } from '#core/config/file';
import { scheduleSelection } from '#core/config/schedules';
import { selectEnvironments } from '#core/config/selection';
import { fixture } from '../../../support/world.ts';

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

  it('names the unknown environment and the closest known ones', () => {
    const config = parseConfig(
      minimal({ environments: { 'alpha/dev': {}, 'alpha/prod': {}, 'beta/staging': {}, 'gamma/qa': {} } }),
      'env.yaml',
    );
    const err = (() => {
      try {
        resolveEnvironment(config, 'alpha', 'prd', 'env.yaml');
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected an error');
    })();
    expect(err.name).toBe('UnknownEnvironment');
    expect(err.message).toBe(
      'environment "alpha/prd" not found in env.yaml (did you mean alpha/prod, alpha/dev, gamma/qa?). Add it under "environments" or check --customer/--env.',
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
      /schedules\[0\] \("n"\): environment "zeta\/dev" not found in env\.yaml \(did you mean alpha\/dev\?\)/,
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
    expect(JSON.parse(readFileSync('schemas/environments.schema.json', 'utf8'))).toEqual(configJsonSchema());
  });

  it('loads the test fixture', () => {
    expect(Object.keys(loadConfigFile(fixture('environments.yaml')).environments)).toEqual([
      'alpha/dev',
      'beta/staging',
      'gamma/dev',
    ]);
  });
});

const withDefaults = (
  extra: Record<string, unknown>,
  environments: Record<string, unknown> = { 'alpha/dev': {} },
) => minimal({ defaults: { ...minimal().defaults, ...extra }, environments });
const schedule = (over: Record<string, unknown>) => ({
  name: 'nightly',
  action: 'down',
  cron: '0 20 ? * MON-FRI *',
  environments: ['alpha/dev'],
  ...over,
});

describe('configuration checks', () => {
  it('caps replica counts at 100 by default and lets an environment raise the cap', () => {
    const config = parseConfig(
      minimal({ environments: { 'alpha/dev': {}, 'beta/dev': { maxReplicas: 500 } } }),
      'env.yaml',
    );
    expect(resolveEnvironment(config, 'alpha', 'dev').maxReplicas).toBe(100);
    expect(resolveEnvironment(config, 'beta', 'dev').maxReplicas).toBe(500);
  });

  it.each([0, 10_001, 2.5])('refuses maxReplicas %s', (maxReplicas) => {
    const err = configError(withDefaults({ maxReplicas }));
    expect(err.name).toBe('ConfigInvalid');
    expect(err.message).toContain('defaults.maxReplicas');
  });

  it.each(['not a url', 'ftp://x', '/healthz'])(
    'refuses the health URL %j, naming environment, deployment and value',
    (healthUrl) => {
      const err = configError(withDefaults({ deployments: [{ name: 'web', healthUrl }] }));
      expect(err.name).toBe('ConfigInvalid');
      expect(err.message).toBe(
        `env.yaml: environment "alpha/dev": deployment "web" resolves healthUrl "${healthUrl}", which is not an absolute http(s) URL; fix defaults.deployments[0].healthUrl, e.g. "https://web-{environment}-{customer}.example.com/healthz"`,
      );
    },
  );

  it('names the environment entry when the bad health URL is set there', () => {
    const err = configError(
      minimal({
        environments: { 'alpha/dev': { deployments: [{ name: 'api', healthUrl: 'http//{customer}' }] } },
      }),
    );
    expect(err.message).toContain('resolves healthUrl "http//alpha"');
    expect(err.message).toContain('fix environments["alpha/dev"].deployments[0].healthUrl');
  });

  it('accepts http and https health URLs with placeholders filled in', () => {
    const config = parseConfig(
      withDefaults({
        deployments: [
          { name: 'web', healthUrl: 'https://web-{environment}.{customer}.example.com/healthz' },
          { name: 'api', healthUrl: 'http://{namespace}.svc:8080/ready' },
        ],
      }),
      'env.yaml',
    );
    expect(resolveEnvironment(config, 'alpha', 'dev').deployments.map((d) => d.healthUrl)).toEqual([
      'https://web-dev.alpha.example.com/healthz',
      'http://alpha-dev.svc:8080/ready',
    ]);
  });

  it.each([
    ['{customer}_{environment}', 'alpha_dev'],
    ['Team-{environment}', 'Team-dev'],
    [`${'x'.repeat(60)}-{environment}`, `${'x'.repeat(60)}-dev`],
  ])('refuses the deployment namespace %j, which resolves to %j', (namespace, resolved) => {
    const err = configError(withDefaults({ deployments: [{ name: 'web', namespace }] }));
    expect(err.message).toContain(
      `deployment "web" resolves namespace "${resolved}", which is not a valid Kubernetes namespace`,
    );
    expect(err.message).toContain('fix defaults.deployments[0].namespace');
  });

  it('refuses two environments that resolve to the same records, naming both and the prefix', () => {
    const err = configError(
      withDefaults({ keyPrefix: '{cluster}/{customer}' }, { 'alpha/dev': {}, 'alpha/prod': {} }),
    );
    expect(err.name).toBe('ConfigInvalid');
    expect(err.message).toContain(
      'environments "alpha/dev" and "alpha/prod" both resolve to keyPrefix "eks-dev-cluster/alpha" in bucket "customer-infra-manager"',
    );
    expect(err.message).toContain(
      "each environment needs its own keyPrefix, or one environment's up would consume the other's restore point",
    );
    expect(err.message).toContain('defaults.keyPrefix');
  });

  it('accepts the same keyPrefix in two different buckets', () => {
    const config = parseConfig(
      withDefaults({ keyPrefix: 'shared' }, { 'alpha/dev': {}, 'alpha/prod': { bucket: 'other-bucket' } }),
      'env.yaml',
    );
    expect(resolveEnvironment(config, 'alpha', 'prod')).toMatchObject({
      bucket: 'other-bucket',
      keyPrefix: 'shared',
    });
  });

  it('refuses a lock TTL above seven days or under a minute', () => {
    expect(configError(withDefaults({ lockTtlSeconds: 604_801 })).message).toContain(
      'defaults.lockTtlSeconds: at most 604800 (7 days)',
    );
    expect(configError(withDefaults({ lockTtlSeconds: 59 })).message).toContain('defaults.lockTtlSeconds');
  });

  it('refuses a lock TTL shorter than the up path, with the sum of every wait (the autoscaler wait included)', () => {
    expect(configError(withDefaults({ lockTtlSeconds: 6000 })).message).toBe(
      'env.yaml: environment "alpha/dev": lockTtlSeconds (6000) is shorter than the longest run: up waits up to 6000 s (databaseStart 3600 + 2 × deployments 900 (deployments, autoscalers) + health 600 timeoutSeconds); raise defaults.lockTtlSeconds above 6000 or lower those timeouts',
    );
    // 5,100 s was enough when the autoscaler wait was not counted: a run could outlive its lock.
    expect(configError(withDefaults({ lockTtlSeconds: 5101 })).message).toContain('up waits up to 6000 s');
    expect(() => parseConfig(withDefaults({ lockTtlSeconds: 6001 }), 'env.yaml')).not.toThrow();
  });

  it('refuses a lock TTL shorter than the down path, with the sum', () => {
    const err = configError(
      minimal({
        environments: { 'alpha/dev': { waits: { databaseStop: { timeoutSeconds: 20_000 } } } },
      }),
    );
    expect(err.message).toContain(
      'lockTtlSeconds (14400) is shorter than the longest run: down waits up to 20900 s (deployments 900 + databaseStop 20000 timeoutSeconds)',
    );
    expect(err.message).toContain('raise defaults.lockTtlSeconds (built-in default) above 20900');
  });

  it('refuses a wait timeout above one day', () => {
    const err = configError(withDefaults({ waits: { health: { timeoutSeconds: 86_401 } } }));
    expect(err.message).toContain('defaults.waits.health.timeoutSeconds: at most 86400 (one day)');
  });

  it('refuses an expected duration longer than its timeout, naming where each comes from', () => {
    const err = configError(
      minimal({ environments: { 'alpha/dev': { waits: { deployments: { expectedSeconds: 1000 } } } } }),
    );
    expect(err.message).toBe(
      'env.yaml: environment "alpha/dev": waits.deployments.expectedSeconds (1000, from environments["alpha/dev"].waits.deployments.expectedSeconds) is longer than its timeoutSeconds (900, from defaults.waits.deployments.timeoutSeconds (built-in default)); the usual duration must fit within the deadline',
    );
  });
});

describe('schedules', () => {
  const scheduled = (...schedules: unknown[]) =>
    minimal({
      environments: {
        'alpha/dev': { labels: { tier: 'dev' } },
        'alpha/prod': { labels: { tier: 'prod' } },
        'beta/dev': {},
      },
      defaults: { ...minimal().defaults, labels: { tier: 'dev', team: 'core' } },
      schedules,
    });

  it.each([
    ['0 25 * * ? *', 'hours: 25 is out of range 0-23'],
    ['0 8 * * * *', 'make one of them "?"'],
    ['60 * ? * MON *', 'minutes: 60 is out of range 0-59'],
    ['0 8 ? * FOO *', 'day-of-week: "FOO"'],
    ['0 8 * * ?', 'six fields'],
  ])('refuses the cron %j with the field at fault', (cron, reason) => {
    const err = configError(minimal({ schedules: [schedule({ cron })] }));
    expect(err.name).toBe('ConfigInvalid');
    expect(err.message).toContain(`schedules[0].cron: "${cron}" is not an EventBridge Scheduler cron: `);
    expect(err.message).toContain(reason);
  });

  it.each(['Europe/Berlin', 'UTC', 'Etc/UTC', 'America/New_York', 'Asia/Kolkata'])(
    'accepts the time zone %s',
    (timeZone) => {
      const config = parseConfig(minimal({ schedules: [schedule({ timeZone })] }), 'env.yaml');
      expect(config.schedules[0]?.timeZone).toBe(timeZone);
    },
  );

  it('defaults the time zone to UTC', () => {
    expect(parseConfig(minimal({ schedules: [schedule({})] }), 'env.yaml').schedules[0]?.timeZone).toBe(
      'UTC',
    );
  });

  it.each([
    ['Mars/Base', 'schedules[0].timeZone: "Mars/Base" is not an IANA time zone; write a tz database name'],
    ['europe/berlin', 'did you mean Europe/Berlin?'],
    ['Europe/Berln', '(did you mean Europe/Berlin, '],
  ])('refuses the time zone %j', (timeZone, message) => {
    expect(configError(minimal({ schedules: [schedule({ timeZone })] })).message).toContain(message);
  });

  it('refuses two schedules with the same name', () => {
    const err = configError(minimal({ schedules: [schedule({}), schedule({ action: 'up' })] }));
    expect(err.message).toContain(
      'schedules[1].name: "nightly" is already the name of schedules[0]; give each schedule its own name',
    );
  });

  it('selects environments by glob and by labels, defaults merged under the environment', () => {
    const config = parseConfig(
      scheduled(
        schedule({ name: 'devs', environments: ['*/dev'] }),
        schedule({ name: 'core-dev', environments: [], labels: 'tier=dev,team=core' }),
      ),
      'env.yaml',
    );
    const [devs, coreDev] = config.schedules;
    expect(devs && selectEnvironments(config, scheduleSelection(devs), 'env.yaml')).toEqual([
      'alpha/dev',
      'beta/dev',
    ]);
    expect(coreDev && scheduleSelection(coreDev)).toEqual({ patterns: [], labels: 'tier=dev,team=core' });
    expect(coreDev && selectEnvironments(config, scheduleSelection(coreDev), 'env.yaml')).toEqual([
      'alpha/dev',
      'beta/dev',
    ]);
    expect(resolveEnvironment(config, 'alpha', 'prod').labels).toEqual({ tier: 'prod', team: 'core' });
  });

  it('refuses a schedule that names neither environments nor labels', () => {
    expect(configError(minimal({ schedules: [schedule({ environments: undefined })] })).message).toContain(
      'schedules[0]: say which environments: give "environments"',
    );
  });

  it('refuses a schedule whose labels match no environment, naming the schedule', () => {
    const err = configError(scheduled(schedule({ environments: ['alpha/*'], labels: 'tier=qa' })));
    expect(err.name).toBe('ConfigInvalid');
    expect(err.message).toBe(
      'env.yaml: schedules[0] ("nightly"): selection "alpha/*,tier=qa" matches no environment in env.yaml: 2 environment(s) match alpha/*, and none has labels matching "tier=qa". Check "labels" under "environments" and "defaults". Fix schedules[0].environments or schedules[0].labels.',
    );
  });

  it('refuses a schedule glob that matches no environment', () => {
    expect(configError(scheduled(schedule({ environments: ['zeta/*'] }))).message).toContain(
      'schedules[0] ("nightly"): pattern "zeta/*" matches no environment in env.yaml',
    );
  });

  it('refuses a schedule with a bad label selector at its path', () => {
    const err = configError(scheduled(schedule({ labels: 'tier in dev' })));
    expect(err.message).toContain(
      'schedules[0].labels: label selector "tier in dev": expected "(" after "in"',
    );
  });

  it('refuses an environment key with upper case in a schedule', () => {
    expect(
      configError(minimal({ schedules: [schedule({ environments: ['Alpha/dev'] })] })).message,
    ).toContain('schedules[0].environments[0]: "Alpha/dev" is not an environment key or glob');
  });
});

describe('labels', () => {
  it.each([
    [{ 'Bad Key': 'x' }, 'defaults.labels["Bad Key"]: label key "Bad Key"'],
    [{ 'Example.com/team': 'x' }, 'the prefix before "/" must be a lower-case DNS name'],
    [{ tier: 'dev!' }, 'defaults.labels.tier: label value "dev!"'],
    [{ tier: 'x'.repeat(64) }, 'defaults.labels.tier'],
  ])('refuses the labels %j', (labels, message) => {
    const err = configError(withDefaults({ labels }));
    expect(err.name).toBe('ConfigInvalid');
    expect(err.message).toContain(message);
  });

  it('accepts prefixed keys and empty values', () => {
    const config = parseConfig(
      withDefaults({ labels: { 'example.com/team': 'core', paused: '' } }),
      'env.yaml',
    );
    expect(resolveEnvironment(config, 'alpha', 'dev').labels).toEqual({
      'example.com/team': 'core',
      paused: '',
    });
  });
});

describe('a large fleet', () => {
  const keys = Array.from(
    { length: 2000 },
    (_, i) => `cust${String(Math.floor(i / 4)).padStart(4, '0')}/${['dev', 'qa', 'staging', 'demo'][i % 4]}`,
  );
  const config = parseConfig(
    minimal({ environments: Object.fromEntries(keys.map((k) => [k, {}])) }),
    'env.yaml',
  );

  it('resolves 2,000 environments', () => {
    expect(listEnvironments(config)).toHaveLength(2000);
    expect(resolveEnvironment(config, 'cust0499', 'demo').keyPrefix).toBe('eks-dev-cluster/cust0499/demo');
  });

  it('keeps the unknown-environment message short', () => {
    let message = '';
    try {
      resolveEnvironment(config, 'cust0042', 'prod', 'env.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(
      /^environment "cust0042\/prod" not found in env\.yaml \(did you mean cust0042\/\w+, /,
    );
    expect(message.length).toBeLessThan(300);
  });
});
