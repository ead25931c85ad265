// Issue 16's catalog of bad input, unit level: each case is refused with the right error name
// and a message that names the problem (and, for records, before anything is parsed). The
// workflow-level cases (nothing changed in S3, replicas, database) are in
// test/workflow/bad-input-catalog.test.ts; the fast-check properties are at the end.
import { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import { parseConfig, resolveEnvironment } from '#core/config/catalog';
import { validateCron } from '#core/config/cron';
import { MAX_SELECTOR_LENGTH, parseLabelSelector } from '#core/config/label-selector';
import { checkOwnership } from '#core/config/ownership';
import { environmentKeyError } from '#core/config/schema';
import { globMatch, MAX_PATTERN_LENGTH, parseSelectionArg, patternError } from '#core/config/selection';
import { parseRequest } from '#core/contracts';
import { ErrorNames, unprintableCharacter } from '#core/errors';
import { jsonDepth, MAX_RECORD_BYTES, MAX_RECORD_DEPTH, parseRecord } from '#core/gateways/store';
import { checkReason, parseUntil } from '#core/records/hold';
import { holderGone, lockedError, malformedLock } from '#core/records/lock';
import { validateRestorePoint } from '#core/records/restore-point';
import { memoryBucket } from '../../support/memory-s3.ts';
import { fixtureJson } from '../../support/world.ts';

const twoEnvs = (alpha: Record<string, unknown> = {}, beta: Record<string, unknown> = {}) => ({
  defaults: {
    cluster: 'eks-dev-cluster',
    region: 'us-east-1',
    bucket: 'customer-infra-manager',
    deployments: [{ name: 'web' }],
  },
  environments: { 'alpha/dev': alpha, 'beta/dev': beta },
});

function refusal(act: () => unknown): Error & { name: string } {
  try {
    act();
  } catch (err) {
    return err as Error & { name: string };
  }
  throw new Error('expected a refusal');
}

// ------------------------------------------------------------------------------ ownership

describe('ownership: each resource belongs to one environment, checked at load', () => {
  const cases: { title: string; config: unknown; message: RegExp }[] = [
    {
      title: 'two environments naming the same database instance',
      config: twoEnvs({ database: { identifier: 'shared-rds' } }, { database: { identifier: 'shared-rds' } }),
      message: /"alpha\/dev" and "beta\/dev" both own database instance "shared-rds"/,
    },
    {
      title: 'two environments naming the same Aurora cluster',
      config: twoEnvs(
        { database: { kind: 'cluster', identifier: 'aurora-1' } },
        { database: { kind: 'cluster', identifier: 'aurora-1' } },
      ),
      message: /"alpha\/dev" and "beta\/dev" both own database cluster "aurora-1"/,
    },
    {
      title: 'a database template without {customer} that every environment resolves alike',
      config: {
        ...twoEnvs(),
        defaults: { ...twoEnvs().defaults, database: { identifier: '{environment}-rds' } },
      },
      message: /both own database instance "dev-rds"/,
    },
    {
      title: 'two environments with the same namespace',
      config: twoEnvs({ namespace: 'team-a' }, { namespace: 'team-a' }),
      message: /both own namespace "team-a" \(cluster eks-dev-cluster\)/,
    },
    {
      title: "a deployment pointing into another environment's namespace",
      config: twoEnvs({ deployments: [{ name: 'web' }, { name: 'api', namespace: 'beta-dev' }] }),
      message: /"alpha\/dev" and "beta\/dev" both own namespace "beta-dev"|both own namespace "beta-dev"/,
    },
    {
      title: "a StatefulSet in another environment's namespace",
      config: twoEnvs({ workloads: [{ kind: 'StatefulSet', name: 'db', namespace: 'beta-dev' }] }),
      message: /both own namespace "beta-dev"/,
    },
    {
      title: "discovery looking into another environment's namespace",
      config: twoEnvs({ discover: { namespaces: ['{namespace}', 'beta-dev'] } }),
      message: /both own namespace "beta-dev"/,
    },
    {
      title: 'a deployment listed twice',
      config: twoEnvs({ deployments: [{ name: 'web' }, { name: 'web' }] }),
      message: /environment "alpha\/dev" lists Deployment "alpha-dev\/web" twice/,
    },
    {
      title: 'a deployment listed twice, once with its namespace spelled out',
      config: twoEnvs({
        deployments: [{ name: 'web' }, { name: 'web', namespace: '{customer}-{environment}' }],
      }),
      message: /lists Deployment "alpha-dev\/web" twice/,
    },
    {
      title: 'two environments with the same node group in one cluster',
      config: twoEnvs({ nodegroups: ['workers'] }, { nodegroups: ['workers'] }),
      message: /both own node group "workers" \(cluster eks-dev-cluster\)/,
    },
    {
      title: "a keyPrefix inside another environment's keyPrefix",
      config: twoEnvs({ keyPrefix: 'envs/alpha' }, { keyPrefix: 'envs/alpha/beta' }),
      message:
        /"alpha\/dev" and "beta\/dev" overlap in bucket "customer-infra-manager": keyPrefix "envs\/alpha\/beta" lies inside "envs\/alpha"/,
    },
    {
      title: 'two environments with the same keyPrefix',
      config: twoEnvs({ keyPrefix: 'same' }, { keyPrefix: 'same' }),
      message: /"alpha\/dev" and "beta\/dev" both resolve to keyPrefix "same"/,
    },
  ];
  it.each(cases)('refuses $title, naming both', ({ config, message }) => {
    const err = refusal(() => parseConfig(config, 'env.yaml'));
    expect(err.name).toBe(ErrorNames.ConfigInvalid);
    expect(err.message).toMatch(/^env\.yaml: /);
    expect(err.message).toMatch(message);
  });

  const allowed: { title: string; config: unknown }[] = [
    {
      title: 'the same database identifier in another region',
      config: twoEnvs(
        { database: { identifier: 'x-rds' } },
        { database: { identifier: 'x-rds' }, region: 'eu-west-1' },
      ),
    },
    {
      title: 'an instance and a cluster with the same identifier (separate RDS namespaces)',
      config: twoEnvs({ database: { identifier: 'x' } }, { database: { kind: 'cluster', identifier: 'x' } }),
    },
    {
      title: 'the same namespace and node group in another cluster',
      config: twoEnvs(
        { namespace: 'app', nodegroups: ['workers'], database: { identifier: 'a-rds' } },
        {
          namespace: 'app',
          nodegroups: ['workers'],
          cluster: 'eks-other',
          database: { identifier: 'b-rds' },
        },
      ),
    },
    {
      title: 'sibling key prefixes that share a leading string but not a segment ("envs/a" and "envs/ab")',
      config: twoEnvs({ keyPrefix: 'envs/a' }, { keyPrefix: 'envs/ab' }),
    },
  ];
  it.each(allowed)('accepts $title', ({ config }) => {
    expect(() => parseConfig(config, 'env.yaml')).not.toThrow();
  });
});

describe('environment keys form valid names for everything derived from them', () => {
  const long = 'a'.repeat(25);
  const cases: [string, string, RegExp][] = [
    ['a customer of 25 characters', `${long}/dev`, /customer part .* has 25 characters; .*1-24/],
    ['an environment of 25 characters', `alpha/${long}`, /environment part .* has 25 characters/],
    ['a leading "-"', '-alpha/dev', /customer part "-alpha"/],
    ['a trailing "-"', 'alpha/dev-', /environment part "dev-"/],
    ['an empty customer', '/dev', /customer part .* has 0 characters/],
    ['an empty environment', 'alpha/', /environment part .* has 0 characters/],
    ['two slashes', 'alpha/dev/x', /is not "customer\/environment" \(one "\/"\)/],
    ['no slash', 'alpha-dev', /is not "customer\/environment"/],
    ['an underscore', 'alpha_x/dev', /customer part "alpha_x"/],
    ['upper case', 'Alpha/dev', /in lower case: the customer part "Alpha"/],
    ['a non-ASCII letter', 'alphä/dev', /customer part "alphä"/],
    ['a dot', 'alpha/dev.1', /environment part "dev\.1"/],
  ];
  it.each(cases)('refuses %s at load', (_t, key, message) => {
    const err = refusal(() => parseConfig({ ...twoEnvs(), environments: { [key]: {} } }, 'env.yaml'));
    expect(err.name).toBe(ErrorNames.ConfigInvalid);
    expect(err.message).toMatch(message);
  });

  it('accepts parts of 24 characters, whose namespace and execution names stay within bounds', () => {
    const key = `${'c'.repeat(24)}/${'e'.repeat(24)}`;
    expect(environmentKeyError(key)).toBeNull();
    const config = parseConfig({ ...twoEnvs(), environments: { [key]: {} } }, 'env.yaml');
    const env = resolveEnvironment(config, 'c'.repeat(24), 'e'.repeat(24));
    expect(env.namespace.length).toBeLessThanOrEqual(63);
    // customer-environment-build (64) still fits an 80-character execution name with a hash.
    expect(`${env.customer}-${env.environment}`.length).toBeLessThanOrEqual(49);
  });
});

// ------------------------------------------------------------------------------ selections

describe('matching a selection is linear and bounded', () => {
  /** Steps to match a pattern of k stars against a key that almost matches. */
  const steps = (k: number) => {
    const key = `${'a'.repeat(40)}/${'a'.repeat(8)}`;
    const count = { n: 0 };
    expect(globMatch(`${'a*'.repeat(k)}b`, key, count)).toBe(false);
    return count.n;
  };

  it('counts steps linear in the length of a pathological pattern ("a*a*...*b")', () => {
    const lengths = [4, 8, 16, 32, 48];
    const counts = lengths.map(steps);
    const key = 49;
    // Each comparison moves the key position forward or the pattern forward: at most
    // |pattern| + 2 |key| of them, for any k (a backtracking regex needs C(49, k) here).
    lengths.forEach((k, i) => {
      expect(counts[i]).toBeLessThanOrEqual(2 * k + 1 + 2 * key);
    });
    // Doubling the pattern never more than doubles the work.
    for (let i = 1; i < counts.length; i++)
      expect(counts[i] ?? 0).toBeLessThanOrEqual(2 * (counts[i - 1] ?? 0) + 2 * key);
  });

  it('answers as the glob means ("*" is any run of characters, "/" included)', () => {
    expect(globMatch('*/dev', 'alpha/dev')).toBe(true);
    expect(globMatch('al*a/d*', 'alpha/dev')).toBe(true);
    expect(globMatch('a*a*a', 'aa')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('alpha/dev', 'alpha/dev')).toBe(true);
    expect(globMatch('*ab*ab*', 'xabyab')).toBe(true);
  });

  const cases: [string, () => unknown, RegExp][] = [
    [
      `a pattern longer than ${MAX_PATTERN_LENGTH}`,
      () => parseSelectionArg(`${'a*'.repeat(60)}b`),
      /has 121 characters, more than 100/,
    ],
    [
      `a label selector longer than ${MAX_SELECTOR_LENGTH}`,
      () => parseLabelSelector(`tier in (${'a,'.repeat(600)}b)`),
      /label selector .* has 1211 characters, more than 1000/,
    ],
    [
      `a command-line selection longer than ${MAX_SELECTOR_LENGTH}`,
      () => parseSelectionArg('alpha/dev,'.repeat(101)),
      /selection .* has 1010 characters, more than 1000/,
    ],
  ];
  it.each(cases)('refuses %s', (_t, act, message) => {
    const err = refusal(act);
    expect(err.name).toBe(ErrorNames.SelectionInvalid);
    expect(err.message).toMatch(message);
  });

  it('refuses a schedule whose pattern is too long when the configuration loads', () => {
    const config = {
      ...twoEnvs(),
      schedules: [
        { name: 's', action: 'down', cron: '0 20 ? * MON-FRI *', environments: [`${'a*'.repeat(51)}`] },
      ],
    };
    const err = refusal(() => parseConfig(config, 'env.yaml'));
    expect(err.name).toBe(ErrorNames.ConfigInvalid);
    expect(err.message).toMatch(/schedules\[0\]\.environments\[0\]: pattern .* more than 100/);
  });
});

// ------------------------------------------------------------------------------ records

describe('records are read within bounds before JSON.parse', () => {
  const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const cases: [string, string, RegExp][] = [
    [
      'one byte over the bound',
      `"${'x'.repeat(MAX_RECORD_BYTES - 1)}"`,
      new RegExp(`is ${MAX_RECORD_BYTES + 1} bytes, more than a record may be \\(${MAX_RECORD_BYTES}\\)`),
    ],
    ['5 MB', `{"a":"${'x'.repeat(5_000_000)}"}`, /is 5000008 bytes/],
    [
      'multi-byte text over the byte limit',
      `"${'é'.repeat(MAX_RECORD_BYTES / 2 + 1)}"`,
      new RegExp(`is ${MAX_RECORD_BYTES + 4} bytes`),
    ],
    [`nested ${MAX_RECORD_DEPTH + 1} levels`, nested(MAX_RECORD_DEPTH + 1), /nests deeper than 16 levels/],
    ['nested 10,000 levels', nested(10_000), /nests deeper than 16 levels/],
    ['nested objects 10,000 levels', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`, /nests deeper/],
    ['not JSON', '{"k8s_deployments": ', /is not valid JSON/],
  ];
  it.each(cases)('refuses a record %s as untrusted, without printing it', (_t, text, message) => {
    const err = refusal(() => parseRecord(text, 's3://b/k'));
    expect(err.name).toBe(ErrorNames.StateRecordInvalid);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^s3:\/\/b\/k /);
    expect(err.message.length).toBeLessThan(500);
  });

  it('does not count brackets inside strings as depth', () => {
    expect(jsonDepth(JSON.stringify({ a: '[[[[[[[[[[[[[[[[[[[[[[[[[[', b: ['\\"[['] }))).toBe(2);
    expect(parseRecord(JSON.stringify({ a: '{'.repeat(100) }), 'k')).toEqual({ a: '{'.repeat(100) });
  });

  describe('from S3', () => {
    let bucket: ReturnType<typeof memoryBucket>;
    let store: S3StateStore;
    beforeEach(() => {
      bucket = memoryBucket();
      store = new S3StateStore(new S3Client({ region: 'us-east-1' }), 'customer-infra-manager');
    });
    afterEach(() => bucket.mock.restore());

    it('refuses a 5 MB object naming its size, not its content', async () => {
      bucket.put('a/pre-state.json', JSON.stringify({ x: 'y'.repeat(5_000_000) }));
      const err = await store.getJson('a/pre-state.json').catch((e: Error) => e);
      expect(err).toMatchObject({ name: ErrorNames.StateRecordInvalid });
      expect((err as Error).message).toMatch(
        /s3:\/\/customer-infra-manager\/a\/pre-state\.json is 5000008 bytes/,
      );
      expect((err as Error).message).not.toContain('yyyy');
    });

    it('refuses an object nested 10,000 deep without overflowing the stack', async () => {
      bucket.put('a/actions.json', nested(10_000));
      await expect(store.getJson('a/actions.json')).rejects.toMatchObject({
        name: ErrorNames.StateRecordInvalid,
        message: expect.stringMatching(/nests deeper than 16 levels/),
      });
    });
  });
});

describe('a restore point that contradicts itself is untrusted', () => {
  const env = resolveEnvironment(
    parseConfig(
      {
        defaults: {
          ...twoEnvs().defaults,
          deployments: [{ name: 'frontend-deployment' }, { name: 'backend-deployment' }],
        },
        environments: { 'alpha/dev': {} },
      },
      'env.yaml',
    ),
    'alpha',
    'dev',
  );
  const record = (patch: Record<string, unknown>) => {
    const r = fixtureJson('legacy-pre-state-build-10.json') as {
      k8s_deployments: Record<string, Record<string, unknown>>;
    };
    r.k8s_deployments['backend-deployment'] = { ...r.k8s_deployments['backend-deployment'], ...patch };
    return r;
  };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'not existing yet available with 3 replicas',
      { deployment_exists: false, deployment_available: true, deployment_replicas: 3 },
      /backend-deployment contradicts itself: recorded as not existing, yet available/,
    ],
    [
      'not existing yet up',
      { deployment_exists: false, deployment_available: false, deployment_replicas: 0, app_status: 'up' },
      /not existing, yet up/,
    ],
    [
      'not existing yet at 3 replicas',
      { deployment_exists: false, deployment_available: false, deployment_replicas: 3, app_status: 'down' },
      /not existing, yet at 3 replicas/,
    ],
    [
      'running with 0 replicas',
      { deployment_exists: true, deployment_available: true, deployment_replicas: 0 },
      /recorded as running but with 0 replicas/,
    ],
  ];
  it.each(cases)('refuses a deployment %s', (_t, patch, message) => {
    const err = refusal(() => validateRestorePoint(record(patch), 'k', env, '10'));
    expect(err.name).toBe(ErrorNames.StateRecordInvalid);
    expect(err.message).toMatch(message);
  });

  it('accepts a deployment recorded as missing, at 0 and down', () => {
    const rp = validateRestorePoint(
      record({
        deployment_exists: false,
        deployment_available: false,
        deployment_replicas: 0,
        app_status: 'down',
      }),
      'k',
      env,
      '10',
    );
    expect(rp.replicas).toEqual({ 'frontend-deployment': 1 });
  });
});

// ------------------------------------------------------------------------------ sleeping backend

describe('a sleepingBackend (issue 19) is checked at load', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a service that is not a Service name', { service: 'Wake_Page', port: 80 }, /sleepingBackend\.service/],
    [
      'a service naming another namespace',
      { service: 'wake.other-ns', port: 80 },
      /sleepingBackend\.service/,
    ],
    ['port 0', { service: 'wake', port: 0 }, /sleepingBackend\.port/],
    ['port 70000', { service: 'wake', port: 70_000 }, /sleepingBackend\.port/],
    ['a named port (a number is needed)', { service: 'wake', port: 'http' }, /sleepingBackend\.port/],
    ['no port', { service: 'wake' }, /sleepingBackend\.port/],
    ['an unknown key', { service: 'wake', port: 80, namespace: 'wake' }, /sleepingBackend.*namespace/],
  ];
  it.each(cases)('refuses %s, naming the key', (_t, sleepingBackend, message) => {
    const err = refusal(() =>
      resolveEnvironment(parseConfig(twoEnvs({ sleepingBackend }), 'env.yaml'), 'alpha', 'dev', 'env.yaml'),
    );
    expect(err.name).toBe(ErrorNames.ConfigInvalid);
    expect(err.message).toMatch(message);
  });

  it('accepts one in defaults, and an environment without it leaves its Ingresses alone', () => {
    const config = parseConfig(
      { ...twoEnvs(), defaults: { ...twoEnvs().defaults, sleepingBackend: { service: 'wake', port: 8080 } } },
      'env.yaml',
    );
    expect(resolveEnvironment(config, 'alpha', 'dev', 'env.yaml').sleepingBackend).toEqual({
      service: 'wake',
      port: 8080,
    });
    expect(
      resolveEnvironment(parseConfig(twoEnvs(), 'env.yaml'), 'beta', 'dev', 'env.yaml').sleepingBackend,
    ).toBe(null);
  });
});

// ------------------------------------------------------------------------------ names in records

describe('names that go into records are printable', () => {
  const request = { action: 'down', customer: 'alpha', environment: 'dev', build: '20' };
  const cases: [string, string, string][] = [
    ['a right-to-left override', 'admin\u202Egnp.exe', 'U+202E'],
    ['a left-to-right override', 'bob\u202D', 'U+202D'],
    ['a right-to-left mark', 'eve\u200F', 'U+200F'],
    ['a first-strong isolate', '\u2068mallory', 'U+2068'],
    ['an Arabic letter mark', 'x\u061Cy', 'U+061C'],
    ['a zero-width space', 'ro\u200Bot', 'U+200B'],
    ['a byte order mark inside the name', 'jen\uFEFFkins', 'U+FEFF'],
    ['a bell', 'jen\u0007kins', 'U+0007'],
    ['an escape (terminal sequences)', 'x\u001b[2Jy', 'U+001B'],
    ['a C1 next-line', 'a\u0085b', 'U+0085'],
    ['a line separator', 'a\u2028b', 'U+2028'],
    ['a lone surrogate', 'a\uD800b', 'U+D800'],
  ];
  it.each(cases)('refuses a user with %s, naming the code point', (_t, user, cp) => {
    const err = refusal(() => parseRequest({ ...request, user }));
    expect(err.name).toBe(ErrorNames.InvalidInput);
    expect(err.message).toMatch(
      /user must not contain control characters, bidirectional marks or invisible characters/,
    );
    expect(err.message).toContain(cp);
  });

  it('refuses a user longer than 128 characters', () => {
    expect(refusal(() => parseRequest({ ...request, user: 'u'.repeat(129) })).message).toMatch(/at most 128/);
  });

  it('refuses a hold reason with a bidirectional override, naming it', () => {
    const err = refusal(() => checkReason('freeze \u202Eezeerf'));
    expect(err.name).toBe(ErrorNames.InvalidInput);
    expect(err.message).toContain('U+202E');
  });

  it('accepts names in any script', () => {
    for (const user of ['Jürgen Müller', '李小龙', 'Ольга', 'عمر', 'ci-bot 🚀'])
      expect(parseRequest({ ...request, user }).user).toBe(user);
  });
});

// ------------------------------------------------------------------------------ strict parsing

describe('strict parsing', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const untils: [string, RegExp][] = [
    ['2026-04-31T10:00:00Z', /2026-04 has no day 31/],
    ['2026-06-31T10:00:00+02:00', /2026-06 has no day 31/],
    ['2027-02-29T10:00:00Z', /2027-02 has no day 29/],
    ['2026-03-02T24:00:00Z', /a time that does not exist/],
    ['2026-03-02T10:60:00Z', /a time that does not exist/],
  ];
  it.each(untils)('refuses hold --until %s, a date or time that does not exist', (raw, message) => {
    const err = refusal(() => parseUntil(raw, now));
    expect(err.name).toBe(ErrorNames.InvalidInput);
    expect(err.message).toMatch(message);
  });

  const crons: [string, string][] = [
    ['February 30', '0 8 30 2 ? *'],
    ['February 31 by name', '0 8 31 FEB ? *'],
    ['April 31', '0 8 31 APR ? *'],
    ['the 31st of the 30-day months', '0 8 31 4,6,9,11 ? *'],
    ['the 30th-31st of February', '0 8 30-31 2 ? *'],
  ];
  it.each(crons)('refuses a cron that never fires: %s', (_t, cron) => {
    expect(validateCron(cron)).toMatch(/never occurs in month .* would never fire/);
    const config = { ...twoEnvs(), schedules: [{ name: 's', action: 'down', cron, environments: ['*'] }] };
    expect(refusal(() => parseConfig(config, 'env.yaml')).message).toMatch(
      /schedules\[0\]\.cron: .*never fire/,
    );
  });

  it.each(['0 8 29 2 ? *', '0 8 31 */2 ? *', '0 8 L 2 ? *', '0 8 30 1-2 ? *', '0 8 ? * MON *'])(
    'accepts a cron that fires: %s',
    (cron) => {
      expect(validateCron(cron)).toBeNull();
    },
  );

  const urls: [string, string][] = [
    ['user and password', 'https://ops:s3cret@app.example.com/healthz'],
    ['a user only', 'https://token@app.example.com/healthz'],
    ['credentials in a template', 'http://u:p@{customer}-{environment}.example.com/'],
  ];
  it.each(urls)('refuses a healthUrl with %s, without repeating the secret', (_t, healthUrl) => {
    const err = refusal(() =>
      parseConfig(twoEnvs({ deployments: [{ name: 'web', healthUrl }] }), 'env.yaml'),
    );
    expect(err.name).toBe(ErrorNames.ConfigInvalid);
    expect(err.message).toMatch(/healthUrl with credentials/);
    expect(err.message).not.toContain('s3cret');
  });
});

describe('a malformed lock record can be cleared', () => {
  const probe = { host: 'h', processAlive: () => true };
  const store = { bucket: 'b' } as never;
  const where = { customer: 'alpha', environment: 'dev' };
  it.each([
    ['{}', {}, /names no owner/],
    ['an owner without expiry', { owner: 'local:1:a' }, /no valid expires_at/],
    [
      'an owner with an unparsable expiry',
      { owner: 'local:1:a', expires_at: 'never' },
      /no valid expires_at/,
    ],
  ] as const)('treats %s as held by no run, and says to unlock it', async (_t, held, why) => {
    expect(malformedLock(held)).toMatch(why);
    expect(await holderGone(held, new Date(), probe)).toMatchObject({ gone: true });
    const err = lockedError(store, 'k/lock.json', held, where);
    expect(err.message).toMatch(
      /malformed lock record .* Clear it with `cim unlock --customer alpha --env dev`/,
    );
    expect(err.message).not.toMatch(/Wait for/);
  });
});

// ------------------------------------------------------------------------------ properties

describe('properties', () => {
  const globChar = fc.constantFrom('a', 'b', '-', '/', '*');
  const keyChar = fc.constantFrom('a', 'b', '-', '/');

  it('glob matching agrees with the meaning of "*" and counts at most |glob| + 2|key| steps', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: globChar, maxLength: 30 }),
        fc.string({ unit: keyChar, maxLength: 30 }),
        (g, k) => {
          const expected = new RegExp(`^${g.split('*').join('.*')}$`).test(k);
          const steps = { n: 0 };
          expect(globMatch(g, k, steps)).toBe(expected);
          expect(steps.n).toBeLessThanOrEqual(2 * g.length + 2 * k.length + 1);
        },
      ),
    );
  });

  it('a command-line selection either parses or is refused as SelectionInvalid, never anything else', () => {
    const unit = fc.constantFrom(
      'a',
      'z',
      '0',
      '-',
      '/',
      '*',
      '=',
      '!',
      ',',
      ' ',
      '(',
      ')',
      'in',
      'notin',
      'é',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (s) => {
        try {
          const sel = parseSelectionArg(s);
          for (const p of sel.patterns) expect(patternError(p)).toBeNull();
          if (sel.labels !== null) parseLabelSelector(sel.labels);
        } catch (err) {
          expect((err as Error).name).toBe(ErrorNames.SelectionInvalid);
        }
      }),
    );
  });

  it('the record reader accepts any JSON within the bounds, as JSON.parse would, and refuses deeper', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 20 }), (v) => {
        const text = JSON.stringify(v);
        const depth = jsonDepth(text, 1000);
        if (depth <= MAX_RECORD_DEPTH) expect(parseRecord(text, 'k')).toEqual(JSON.parse(text));
        else expect(() => parseRecord(text, 'k')).toThrow(/nests deeper/);
      }),
    );
  });

  it('no two environments of an accepted configuration share a database, namespace, workload or node group', () => {
    const small = fc.constantFrom('a', 'b', 'c');
    const envArb = fc.record({
      namespace: fc.option(
        small.map((x) => `ns-${x}`),
        { nil: undefined },
      ),
      database: fc.option(
        small.map((x) => ({ identifier: `db-${x}` })),
        { nil: undefined },
      ),
      nodegroups: fc.option(
        fc.array(
          small.map((x) => `ng-${x}`),
          { maxLength: 2 },
        ),
        { nil: undefined },
      ),
      deployments: fc.option(
        fc.array(
          fc.record({
            name: small.map((x) => `d-${x}`),
            namespace: fc.option(
              small.map((x) => `ns-${x}`),
              { nil: undefined },
            ),
          }),
          {
            minLength: 1,
            maxLength: 2,
          },
        ),
        { nil: undefined },
      ),
    });
    const clean = (o: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    fc.assert(
      fc.property(fc.array(envArb, { minLength: 1, maxLength: 3 }), (envs) => {
        const config = {
          defaults: twoEnvs().defaults,
          environments: Object.fromEntries(envs.map((e, i) => [`c${i}/dev`, clean(e)])),
        };
        let parsed: ReturnType<typeof parseConfig>;
        try {
          parsed = parseConfig(config, 'env.yaml');
        } catch (err) {
          expect((err as Error).name).toBe(ErrorNames.ConfigInvalid);
          return;
        }
        const resolved = Object.keys(parsed.environments).map((key) => {
          const [c = '', e = ''] = key.split('/');
          return { key, env: resolveEnvironment(parsed, c, e) };
        });
        const seen = new Map<string, string>();
        for (const { key, env } of resolved) {
          const ids = new Set([
            `db:${env.database.identifier}`,
            ...[env.namespace, ...env.deployments.map((d) => d.namespace)].map((n) => `ns:${n}`),
            ...env.nodegroups.map((n) => `ng:${n}`),
          ]);
          for (const id of ids) {
            expect(seen.get(id) ?? key, id).toBe(key);
            seen.set(id, key);
          }
        }
        expect(() => checkOwnership(resolved, 'x')).not.toThrow();
      }),
    );
  });

  it('every code point the printable check refuses is named in U+XXXX form', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => {
        const why = unprintableCharacter(s);
        if (why !== null) expect(why).toMatch(/^U\+[0-9A-F]{4,6} at position \d+$/);
      }),
    );
  });
});
