// A catalog of malformed input at the CLI: legacy environment variables, command lines and
// configuration files. Each is refused with exit 64 and a message that names what is wrong
// (for files: the file and the path inside it), and nothing is called: no S3, RDS or
// Kubernetes request at all. S3 and RDS are the in-memory test world; Kubernetes is the
// fake one, so that an accepted dry run can run end to end without a cluster.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { ExitCode } from '#cli/exit-codes';
import { Steps } from '#core/steps';
import { capture } from '../../support/capture.ts';
import { makeWorld, type World } from '../../support/world.ts';

const fake = vi.hoisted(() => ({ kube: undefined as unknown }));
vi.mock('#core/clients/kubernetes', async (importOriginal) => ({
  ...(await importOriginal<typeof import('#core/clients/kubernetes')>()),
  // The CLI reaches Kubernetes through a kubeconfig; here it reaches the test world's.
  kubeconfigKube: () => () => fake.kube,
}));

let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
let dir: string;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
  dir = mkdtempSync(join(tmpdir(), 'cim-bad-input-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let w: World;
beforeEach(() => {
  w = makeWorld();
  fake.kube = w.kube;
});
afterEach(() => {
  vi.restoreAllMocks();
  w.restore();
});

/** Every request any peer received, and everything that could have changed. */
function observe() {
  return {
    s3Requests: w.bucket.mock.calls().length,
    rdsRequests: w.rds.calls().length,
    objects: w.bucket.keys(),
    scaled: w.kube.scaled.length,
    replicas: Object.fromEntries([...w.kube.deployments].map(([k, d]) => [k, d.replicas])),
    dbState: w.dbState(),
  };
}

/** Runs the CLI and checks: exit 64, the message on stderr, and not a single request made. */
async function expectUsage(argv: string[], env: NodeJS.ProcessEnv, message: RegExp) {
  const before = observe();
  const io = capture();
  const code = await main(argv, env);
  vi.restoreAllMocks();
  expect(io.err()).toMatch(message);
  expect(code, io.err()).toBe(ExitCode.Usage);
  expect(observe()).toEqual(before);
  expect(before.s3Requests + before.rdsRequests).toBe(0);
  return io;
}

let files = 0;
/** Writes a configuration file into the temporary directory; objects are written as YAML. */
function configFile(content: unknown, ext = 'yaml'): string {
  const path = join(dir, `config-${++files}.${ext}`);
  writeFileSync(path, typeof content === 'string' ? content : toYaml(content));
  return path;
}

/** A valid configuration like the test fixture, without health URLs (no HTTP in the unit tier). */
const baseConfig = () => ({
  defaults: {
    cluster: 'eks-dev-cluster',
    region: 'us-east-1',
    bucket: 'customer-infra-manager',
    deployments: [{ name: 'frontend-deployment' }, { name: 'backend-deployment' }] as Record<
      string,
      unknown
    >[],
  } as Record<string, any>,
  environments: {
    'alpha/dev': {},
    'beta/staging': { database: { kind: 'cluster', identifier: 'beta-staging-aurora' } },
  } as Record<string, any>,
  schedules: [
    {
      name: 'weeknights-down',
      action: 'down',
      cron: '0 20 ? * MON-FRI *',
      timeZone: 'Europe/Berlin',
      environments: ['alpha/dev'],
    },
  ] as Record<string, unknown>[],
});

// ---------------------------------------------------------------- legacy environment variables

describe('legacy environment variables', () => {
  let config: string;
  beforeAll(() => {
    config = configFile(baseConfig());
  });
  /** The Jenkins job's variables with some changed; null removes one. Built in the test, after beforeAll. */
  const legacy = (vars: Record<string, string | null>): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ACTION: 'down',
      CUSTOMER: 'alpha',
      ENVIRONMENT: 'dev',
      BUILD_NUMBER: '10',
      BUILD_USER: 'jenkins-user',
      CIM_CONFIG_FILE: config,
    };
    for (const [name, value] of Object.entries(vars)) {
      if (value === null) delete env[name];
      else env[name] = value;
    }
    return env;
  };

  it.each([
    ['ACTION unknown', { ACTION: 'reboot' }, /ACTION="reboot" is not one of up, down, get_env_state/],
    ['ACTION in upper case', { ACTION: 'DOWN' }, /ACTION="DOWN" is not one of up, down, get_env_state/],
    ['ACTION empty', { ACTION: '' }, /no command given and ACTION is not set/],
    ['ACTION missing', { ACTION: null }, /no command given and ACTION is not set/],
    ['CUSTOMER missing', { CUSTOMER: null }, /legacy mode needs CUSTOMER to be set/],
    ['CUSTOMER empty', { CUSTOMER: '' }, /legacy mode needs CUSTOMER to be set/],
    ['ENVIRONMENT missing', { ENVIRONMENT: null }, /legacy mode needs ENVIRONMENT to be set/],
    ['CUSTOMER="Alpha"', { CUSTOMER: 'Alpha' }, /InvalidInput: customer: customer must be lower-case/],
    ['CUSTOMER="../alpha"', { CUSTOMER: '../alpha' }, /InvalidInput: customer: customer must be lower-case/],
    [
      'ENVIRONMENT="dev/x"',
      { ENVIRONMENT: 'dev/x' },
      /InvalidInput: environment: environment must be lower-case/,
    ],
    ['BUILD_NUMBER="1/2"', { BUILD_NUMBER: '1/2' }, /InvalidInput: build: build must be 1-64 letters/],
    ['BUILD_NUMBER=".."', { BUILD_NUMBER: '..' }, /InvalidInput: build: build must be 1-64 letters/],
    [
      'BUILD_USER with a newline',
      { BUILD_USER: 'jenkins\nuser' },
      /user: user must not contain control characters/,
    ],
    [
      'an unknown CUSTOMER',
      { CUSTOMER: 'zeta' },
      /UnknownEnvironment: environment "zeta\/dev" not found in .*config-/,
    ],
    // A bad override from the legacy variables must be blamed on the variable, not on the file.
    [
      'EKS_CLUSTER="bad cluster!"',
      { EKS_CLUSTER: 'bad cluster!' },
      /EKS_CLUSTER.*must be an EKS cluster name|must be an EKS cluster name.*EKS_CLUSTER/s,
    ],
    [
      'AWS_REGION="mars-1"',
      { AWS_REGION: 'mars-1' },
      /AWS_REGION.*must be an AWS region|must be an AWS region.*AWS_REGION/s,
    ],
    [
      'S3_BUCKET_NAME="Bad_Bucket"',
      { S3_BUCKET_NAME: 'Bad_Bucket' },
      /S3_BUCKET_NAME.*must be an S3 bucket name|must be an S3 bucket name.*S3_BUCKET_NAME/s,
    ],
    [
      'S3_REGION="EU"',
      { S3_REGION: 'EU' },
      /S3_REGION.*must be an AWS region|must be an AWS region.*S3_REGION/s,
    ],
  ] as [string, Record<string, string | null>, RegExp][])(
    'refuses %s with exit 64',
    async (_title, vars, message) => {
      await expectUsage([], legacy(vars), message);
    },
  );

  it.each(['yes', '2', 'TRUE!', 'on', 'no', 'y'])(
    'refuses DRY_RUN="%s": only true, false, 1 or 0 are booleans',
    async (value) => {
      await expectUsage(
        [],
        legacy({ DRY_RUN: value }),
        new RegExp(`DRY_RUN="${value.replace('!', '\\!')}" is not a boolean: use true, false, 1 or 0`),
      );
    },
  );

  it.each(['1', 'TRUE', 'True', 'true', ' 1 '])(
    'takes DRY_RUN="%s" as a dry run: plans the down and changes nothing',
    async (value) => {
      const before = observe();
      const io = capture();
      const code = await main(['--json'], legacy({ DRY_RUN: value }));
      vi.restoreAllMocks();
      expect(code, io.err()).toBe(ExitCode.Done);
      const result = JSON.parse(io.out());
      expect(result.path.slice(-4)).toEqual([
        Steps.prepare,
        Steps.dryRun,
        Steps.planDryRun,
        Steps.dryRunDone,
      ]);
      expect(result.output.plan).toContainEqual({
        kind: 'scale',
        namespace: 'alpha-dev',
        deployment: 'backend-deployment',
        from: 2,
        to: 0,
      });
      const after = observe();
      expect(after.objects).toEqual(before.objects);
      expect(after.scaled).toBe(before.scaled);
      expect(after.replicas).toEqual(before.replicas);
      expect(w.rdsCalls).toEqual([]);
    },
  );

  it.each(['0', 'false', 'FALSE', ''])(
    'takes DRY_RUN="%s" as no dry run: a legacy get_env_state records as it always did',
    async (value) => {
      const io = capture();
      const code = await main(['--json'], legacy({ ACTION: 'get_env_state', DRY_RUN: value }));
      vi.restoreAllMocks();
      expect(code, io.err()).toBe(ExitCode.Done);
      const result = JSON.parse(io.out());
      expect(result.path).not.toContain(Steps.planDryRun);
      expect(w.bucket.keys()).toContain('eks-dev-cluster/alpha/dev/history/10/pre-state.json');
      expect(w.kube.scaled).toEqual([]);
      expect(w.rdsCalls).toEqual([]);
    },
  );
});

// ---------------------------------------------------------------- command line

describe('command line', () => {
  let config: string;
  beforeAll(() => {
    config = configFile(baseConfig());
  });
  const env = (): NodeJS.ProcessEnv => ({ CIM_CONFIG_FILE: config, BUILD_USER: 'jenkins-user' });
  const target = ['--customer', 'alpha', '--env', 'dev'];

  it.each([
    ['an unknown command', ['frob', ...target], /unknown command "frob"/],
    ['"restart" as a command', ['restart', ...target], /unknown command "restart"/],
    [
      '"get-env-state" (dash, not underscore)',
      ['get-env-state', ...target],
      /unknown command "get-env-state"/,
    ],
    ['an unknown flag', ['down', ...target, '--force'], /Unknown option '--force'/],
    [
      'a misspelt flag',
      ['down', '--customer', 'alpha', '--environment', 'dev'],
      /Unknown option '--environment'/,
    ],
    [
      'a flag without its value',
      ['down', '--env', 'dev', '--customer'],
      /Option '--customer <value>' argument missing/,
    ],
    ['--record with down', ['down', ...target, '--record'], /--record is for status only/],
    ['--record with up', ['up', ...target, '--record'], /--record is for status only/],
    ['missing --env', ['down', '--customer', 'alpha'], /down needs --customer and --env/],
    ['missing --customer', ['status', '--env', 'dev'], /status needs --customer and --env/],
    ['an extra argument', ['down', 'now', ...target], /unexpected argument "now"/],
    ['--build with "/"', ['down', ...target, '--build', '1/2'], /build: build must be 1-64 letters/],
    ['--build with a space', ['down', ...target, '--build', '1 2'], /build: build must be 1-64 letters/],
    ['--build ".."', ['down', ...target, '--build', '..'], /build: build must be 1-64 letters/],
    ['--build of 65 characters', ['down', ...target, '--build', 'b'.repeat(65)], /build: build must be 1-64/],
    [
      '--customer in upper case',
      ['down', '--customer', 'Alpha', '--env', 'dev'],
      /customer: customer must be/,
    ],
    ['--user empty', ['down', ...target, '--user', ''], /user: user must not be empty/],
    ['unlock without --customer', ['unlock', '--env', 'dev'], /unlock needs --customer and --env/],
    ['unlock without --env', ['unlock', '--customer', 'alpha'], /unlock needs --customer and --env/],
  ])('refuses %s with exit 64', async (_title, argv, message) => {
    await expectUsage(argv, env(), message);
  });

  it('with --json, refuses bad input as one JSON result on stdout', async () => {
    const io = await expectUsage(['down', ...target, '--build', '../1', '--json'], env(), /^$/);
    expect(JSON.parse(io.out())).toMatchObject({
      result: 'invalid',
      exitCode: 64,
      error: { name: 'InvalidInput', message: expect.stringMatching(/^build: build must be/) },
    });
  });
});

// ---------------------------------------------------------------- configuration files

type Mutate = (c: ReturnType<typeof baseConfig>) => void;
const mutated = (mutate: Mutate) => {
  const c = baseConfig();
  mutate(c);
  return c;
};

const configCases: { title: string; content: () => unknown; ext?: string; message: RegExp }[] = [
  {
    title: 'YAML that does not parse',
    content: () => 'defaults: [cluster: x\n  : :\n',
    message: /does not parse/,
  },
  {
    title: 'YAML with a tab indent',
    content: () => 'defaults:\n\tcluster: x\n',
    message: /does not parse.*(line|tab)/is,
  },
  {
    title: 'JSON that does not parse',
    content: () => '{"defaults": {',
    ext: 'json',
    message: /does not parse/,
  },
  { title: 'an empty file', content: () => '', message: /\(top level\): / },
  { title: 'a top-level list', content: () => '- alpha/dev\n- beta/staging\n', message: /\(top level\): / },
  {
    title: 'an unknown top-level key',
    content: () => ({ ...baseConfig(), enviroments: {} }),
    message: /\(top level\): .*"enviroments"/,
  },
  {
    title: 'no environments',
    content: () => ({ ...baseConfig(), environments: {} }),
    message: /environments: describe at least one environment/,
  },
  {
    title: 'an environment key in upper case',
    content: () => mutated((c) => (c.environments['Alpha/dev'] = {})),
    message: /environments\["Alpha\/dev"\]: keys are "customer\/environment" in lower case/,
  },
  {
    title: 'no defaults.cluster',
    content: () => mutated((c) => delete c.defaults.cluster),
    message:
      /environment "alpha\/dev" is incomplete after merging defaults:\n {2}- cluster: .*\nSet these under "defaults"/,
  },
  {
    title: 'bucket "Bad_Bucket"',
    content: () => mutated((c) => (c.defaults.bucket = 'Bad_Bucket')),
    message: /defaults\.bucket: must be an S3 bucket name/,
  },
  {
    title: 'region "mars-1"',
    content: () => mutated((c) => (c.defaults.region = 'mars-1')),
    message: /defaults\.region: must be an AWS region such as us-east-1/,
  },
  {
    title: 'a deployment name in upper case',
    content: () => mutated((c) => (c.defaults.deployments[1] = { name: 'Backend-Deployment' })),
    message: /defaults\.deployments\[1\]\.name: must be a Kubernetes deployment name/,
  },
  {
    title: 'no deployments',
    content: () => mutated((c) => (c.defaults.deployments = [])),
    message: /defaults\.deployments: list at least one deployment/,
  },
  {
    title: 'healthUrl "not a url"',
    content: () =>
      mutated((c) => (c.defaults.deployments[0] = { name: 'frontend-deployment', healthUrl: 'not a url' })),
    message:
      /healthUrl "not a url", which is not an absolute http\(s\) URL; fix defaults\.deployments\[0\]\.healthUrl/,
  },
  {
    title: 'healthUrl "ftp://x"',
    content: () =>
      mutated((c) => (c.defaults.deployments[0] = { name: 'frontend-deployment', healthUrl: 'ftp://x' })),
    message:
      /healthUrl "ftp:\/\/x", which is not an absolute http\(s\) URL; fix defaults\.deployments\[0\]\.healthUrl/,
  },
  {
    title: 'a namespace template resolving to an invalid name',
    content: () => mutated((c) => (c.defaults.namespace = '{customer}_{environment}')),
    message:
      /resolves namespace "alpha_dev", which is not a valid Kubernetes namespace.*fix defaults\.namespace/,
  },
  {
    title: 'a deployment namespace resolving to an invalid name',
    content: () =>
      mutated(
        (c) =>
          (c.environments['alpha/dev'] = { deployments: [{ name: 'web', namespace: '{cluster}.{region}' }] }),
      ),
    message:
      /deployment "web" resolves namespace "eks-dev-cluster\.us-east-1".*fix environments\["alpha\/dev"\]\.deployments\[0\]\.namespace/,
  },
  {
    title: 'a keyPrefix with a ".." segment',
    content: () => mutated((c) => (c.environments['alpha/dev'] = { keyPrefix: '{cluster}/../{customer}' })),
    message:
      /keyPrefix "eks-dev-cluster\/\.\.\/alpha", which has an empty, "\." or "\.\." segment; fix environments\["alpha\/dev"\]\.keyPrefix/,
  },
  {
    title: 'two environments with the same keyPrefix',
    content: () =>
      mutated((c) => {
        c.defaults.keyPrefix = '{cluster}/{customer}';
        c.environments['alpha/prod'] = {};
      }),
    message:
      /environments "alpha\/dev" and "alpha\/prod" both resolve to keyPrefix "eks-dev-cluster\/alpha".*defaults\.keyPrefix/,
  },
  {
    title: 'cron "0 25 * * ? *"',
    content: () => mutated((c) => (c.schedules[0] = { ...c.schedules[0], cron: '0 25 * * ? *' })),
    message: /schedules\[0\]\.cron: "0 25 \* \* \? \*" is not an EventBridge Scheduler cron/,
  },
  {
    title: 'cron "* * * * *" (five fields)',
    content: () => mutated((c) => (c.schedules[0] = { ...c.schedules[0], cron: '* * * * *' })),
    message: /schedules\[0\]\.cron: "\* \* \* \* \*" is not an EventBridge Scheduler cron/,
  },
  {
    title: 'timeZone "Mars/Base"',
    content: () => mutated((c) => (c.schedules[0] = { ...c.schedules[0], timeZone: 'Mars/Base' })),
    message: /schedules\[0\]\.timeZone: .*Mars\/Base/,
  },
  {
    title: 'two schedules with the same name',
    content: () =>
      mutated((c) => c.schedules.push({ ...c.schedules[0], action: 'up', cron: '0 7 ? * MON-FRI *' })),
    message: /schedules\[1\]\.name: "weeknights-down" is already the name of schedules\[0\]/,
  },
  {
    title: 'a schedule naming an unknown environment',
    content: () => mutated((c) => (c.schedules[0] = { ...c.schedules[0], environments: ['zeta/dev'] })),
    message: /schedules\[0\] \("weeknights-down"\): .*zeta\/dev.*Fix schedules\[0\]\.environments/,
  },
  {
    title: 'a schedule with action "restart"',
    content: () => mutated((c) => (c.schedules[0] = { ...c.schedules[0], action: 'restart' })),
    message: /schedules\[0\]\.action: /,
  },
  {
    title: 'lockTtlSeconds 10',
    content: () => mutated((c) => (c.defaults.lockTtlSeconds = 10)),
    message: /defaults\.lockTtlSeconds: /,
  },
  {
    title: 'lockTtlSeconds 99999999',
    content: () => mutated((c) => (c.defaults.lockTtlSeconds = 99999999)),
    message: /defaults\.lockTtlSeconds: at most 604800 \(7 days\)/,
  },
  {
    title: 'lockTtlSeconds shorter than the longest run',
    content: () => mutated((c) => (c.defaults.lockTtlSeconds = 3600)),
    message:
      /lockTtlSeconds \(3600\) is shorter than the longest run: up waits up to 6000 s.*raise defaults\.lockTtlSeconds/,
  },
  {
    title: 'a wait whose timeout is shorter than its expected duration',
    content: () =>
      mutated((c) => (c.defaults.waits = { deployments: { expectedSeconds: 120, timeoutSeconds: 60 } })),
    message:
      /waits\.deployments\.expectedSeconds \(120, from defaults\.waits\.deployments\.expectedSeconds\) is longer than its timeoutSeconds \(60, from defaults\.waits\.deployments\.timeoutSeconds\)/,
  },
  {
    title: 'an environment timeout shorter than the expected duration from defaults',
    content: () =>
      mutated((c) => (c.environments['alpha/dev'] = { waits: { databaseStart: { timeoutSeconds: 100 } } })),
    message:
      /environment "alpha\/dev": waits\.databaseStart\.expectedSeconds \(480, from defaults\.waits\.databaseStart\.expectedSeconds \(built-in default\)\) is longer than its timeoutSeconds \(100, from environments\["alpha\/dev"\]\.waits\.databaseStart\.timeoutSeconds\)/,
  },
  {
    title: 'maxReplicas 0',
    content: () => mutated((c) => (c.defaults.maxReplicas = 0)),
    message: /defaults\.maxReplicas: /,
  },
  {
    title: 'an unknown placeholder "{team}"',
    content: () => mutated((c) => (c.defaults.namespace = '{team}-{environment}')),
    message: /defaults\.namespace: namespace: unknown placeholder; use only \{customer\}/,
  },
  {
    title: 'an unknown key in a deployment',
    content: () => mutated((c) => (c.defaults.deployments[0] = { name: 'frontend-deployment', replicas: 3 })),
    message: /defaults\.deployments\[0\]: .*"replicas"/,
  },
  {
    title: 'database kind "aurora"',
    content: () => mutated((c) => (c.environments['beta/staging'] = { database: { kind: 'aurora' } })),
    message: /environments\["beta\/staging"\]\.database\.kind: /,
  },
];

describe('configuration files', () => {
  it('accepts the valid base configuration (the control for every case below)', async () => {
    const io = capture();
    expect(await main(['environments', '--config', configFile(baseConfig())], {})).toBe(ExitCode.Done);
    vi.restoreAllMocks();
    expect(io.out()).toMatch(/alpha\/dev\tnamespace alpha-dev/);
  });

  it.each(configCases)(
    'refuses $title with exit 64, naming the file and the path',
    async ({ content, ext, message }) => {
      const file = configFile(content(), ext);
      const io = await expectUsage(
        ['down', '--customer', 'alpha', '--env', 'dev', '--config', file],
        {},
        message,
      );
      expect(io.err()).toContain(file);
      expect(io.err()).toMatch(/ConfigInvalid/);
    },
  );
});
