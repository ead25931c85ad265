// The grouping of IAM resources, without synth: what each scope is for a configuration, and
// that it does not grow with the number of environments.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import {
  ESTIMATE_ARNS,
  grantStatements,
  iamScope,
  identifierPattern,
  keyPrefixStaticPart,
  policyChars,
  ROLE_POLICY_LIMIT,
  scopedEnvironments,
} from '#infra/iam/scope';
import { fixture } from '../support/world.ts';

const defaults = {
  cluster: 'eks-dev-cluster',
  region: 'us-east-1',
  bucket: 'customer-infra-manager',
  deployments: [{ name: 'frontend-deployment' }],
};
const pad = (i: number) => String(i).padStart(4, '0');
const fleet = (n: number, extra: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}) =>
  parseConfig(
    {
      defaults: { ...defaults, ...extra },
      environments: Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          `cust${pad(i + 1)}/dev`,
          overrides[`cust${pad(i + 1)}/dev`] ?? {},
        ]),
      ),
    },
    'fleet',
  );
const scopeOf = (config: ReturnType<typeof fleet>) => iamScope(scopedEnvironments(config));

describe('iamScope', () => {
  it('groups the test configuration by bucket prefix, identifier template and cluster', () => {
    expect(scopeOf(loadConfigFile(fixture('environments.yaml')))).toEqual({
      s3: [{ bucket: 'customer-infra-manager', prefixes: ['eks-dev-cluster/'] }],
      rds: [
        { region: 'us-east-1', kind: 'cluster', identifiers: ['beta-staging-aurora'] },
        { region: 'us-east-1', kind: 'instance', identifiers: ['*-rds'] },
      ],
      eks: [{ region: 'us-east-1', clusters: ['eks-dev-cluster'] }],
      nodegroups: [],
    });
  });

  it('keeps a single environment exact and narrows to the common literal start', () => {
    expect(scopeOf(fleet(1)).s3[0]?.prefixes).toEqual(['eks-dev-cluster/cust0001/dev/']);
    expect(scopeOf(fleet(2000)).s3[0]?.prefixes).toEqual(['eks-dev-cluster/cust']);
  });

  it('is the same size for 20 and 2,000 environments', () => {
    const all = { s3: true, rdsDescribe: true, rdsStartStop: true, eks: true };
    const size = (n: number) => policyChars(grantStatements(scopeOf(fleet(n)), all, ESTIMATE_ARNS));
    // Only the common start of the customers' names differs (cust00 for 20, cust for 2,000).
    expect(size(2000)).toBeLessThanOrEqual(size(20));
    expect(size(2000)).toBeLessThan(1500);
  });

  it('gives each cluster, bucket, region and database kind its own entry', () => {
    const s = scopeOf(
      fleet(
        300,
        {},
        {
          'cust0002/dev': { cluster: 'eks-dev-2' },
          'cust0003/dev': { bucket: 'cim-eu', region: 'eu-west-1' },
          'cust0004/dev': { database: { kind: 'cluster', identifier: '{customer}-{environment}-aurora' } },
          'cust0005/dev': { database: { identifier: 'cust0005-dev-rds' } }, // covered by *-rds
          'cust0006/dev': { database: { identifier: 'legacy-db' } },
        },
      ),
    );
    expect(s.s3).toEqual([
      { bucket: 'cim-eu', prefixes: ['eks-dev-cluster/cust0003/dev/'] },
      { bucket: 'customer-infra-manager', prefixes: ['eks-dev-2/cust0002/dev/', 'eks-dev-cluster/cust0'] },
    ]);
    expect(s.rds).toEqual([
      { region: 'eu-west-1', kind: 'instance', identifiers: ['*-rds'] },
      { region: 'us-east-1', kind: 'cluster', identifiers: ['*-aurora'] },
      { region: 'us-east-1', kind: 'instance', identifiers: ['*-rds', 'legacy-db'] },
    ]);
    expect(s.eks).toEqual([
      { region: 'eu-west-1', clusters: ['eks-dev-cluster'] },
      { region: 'us-east-1', clusters: ['eks-dev-2', 'eks-dev-cluster'] },
    ]);
  });

  it('lists the prefixes when the key prefix template has no literal start, and refuses too many', () => {
    const few = scopeOf(fleet(3, { keyPrefix: '{customer}/{environment}' }));
    expect(few.s3[0]?.prefixes).toEqual(['cust0001/dev/', 'cust0002/dev/', 'cust0003/dev/']);
    expect(() => scopeOf(fleet(2000, { keyPrefix: '{customer}/{environment}' }))).toThrow(
      /2000 environments need about \d+ characters.*IAM allows 10240.*2000 key prefix\(es\) in bucket customer-infra-manager.*keyPrefix "\{customer\}\/\{environment\}" has no literal part.*start keyPrefix with a literal or \{cluster\}/,
    );
  });

  it('lists identifiers whose template is only placeholders, and refuses too many', () => {
    const few = scopeOf(fleet(2, { database: { kind: 'instance', identifier: '{customer}-{environment}' } }));
    expect(few.rds[0]?.identifiers).toEqual(['cust0001-dev', 'cust0002-dev']);
    const literal = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [
        `cust${pad(i + 1)}/dev`,
        { database: { identifier: `db${i}` } },
      ]),
    );
    expect(() => scopeOf(fleet(2000, {}, literal))).toThrow(/2000 instance identifier\(s\) in us-east-1/);
  });

  it('never grants a bare wildcard and refuses IAM wildcard characters in names', () => {
    for (const n of [1, 2, 50]) {
      for (const e of grantStatements(
        scopeOf(fleet(n)),
        { s3: true, rdsDescribe: true, rdsStartStop: true, eks: true },
        ESTIMATE_ARNS,
      ).flatMap((s) => s.resources)) {
        expect(e).not.toMatch(/(:::[a-z0-9.-]+\/\*|:db:\*|:cluster:\*|cluster\/\*|^\*)$/);
      }
    }
    expect(() => scopeOf(fleet(2, { keyPrefix: 'data*/{customer}/{environment}' }))).toThrow(
      /keyPrefix "data\*\/cust0001\/dev\/" contains "\*"/,
    );
  });
});

describe('templates', () => {
  const env = scopedEnvironments(fleet(1))[0]?.env;
  if (!env) throw new Error('no environment');

  it('keep the literal start of a key prefix, with {cluster} and {region} filled in', () => {
    expect(keyPrefixStaticPart('{cluster}/{customer}/{environment}', env)).toBe('eks-dev-cluster/');
    expect(keyPrefixStaticPart('cim/{region}/{namespace}', env)).toBe('cim/us-east-1/');
    expect(keyPrefixStaticPart('{customer}/{environment}', env)).toBe('');
  });

  it('turn an identifier template into one wildcard between its literal start and end', () => {
    expect(identifierPattern('{customer}-{environment}-rds', env)).toBe('*-rds');
    expect(identifierPattern('cim-{customer}-{environment}', env)).toBe('cim-*');
    expect(identifierPattern('{cluster}-{customer}-db', env)).toBe('eks-dev-cluster-*-db');
    expect(identifierPattern('{customer}-{environment}', env)).toBeNull();
    expect(identifierPattern('shared-db', env)).toBe(env.database.identifier);
  });
});

describe('grantStatements', () => {
  const scope = scopeOf(loadConfigFile(fixture('environments.yaml')));

  it('grants node group access only on the configured node groups of each cluster', () => {
    const ng = scopeOf(
      fleet(
        3,
        {},
        {
          'cust0001/dev': { nodegroups: ['cust1-workers', 'cust1-spot'] },
          'cust0003/dev': { nodegroups: ['shared'] },
        },
      ),
    );
    expect(ng.nodegroups).toEqual([
      { region: 'us-east-1', cluster: 'eks-dev-cluster', names: ['cust1-spot', 'cust1-workers', 'shared'] },
    ]);
    const arn = (n: string) => `arn:aws-us-gov:eks:us-east-1:123456789012:nodegroup/eks-dev-cluster/${n}/*`;
    const resources = ['cust1-spot', 'cust1-workers', 'shared'].map(arn);
    expect(grantStatements(ng, { nodegroupsDescribe: true }, ESTIMATE_ARNS)).toEqual([
      { actions: ['eks:DescribeNodegroup'], resources },
    ]);
    expect(grantStatements(ng, { nodegroupsDescribe: true, nodegroupsUpdate: true }, ESTIMATE_ARNS)).toEqual([
      { actions: ['eks:DescribeNodegroup'], resources },
      { actions: ['eks:UpdateNodegroupConfig'], resources },
    ]);
    // No node group configured: no grant, even when asked.
    expect(
      grantStatements(scope, { nodegroupsDescribe: true, nodegroupsUpdate: true }, ESTIMATE_ARNS),
    ).toEqual([]);
  });

  it('grants only what the needs name', () => {
    expect(grantStatements(scope, {}, ESTIMATE_ARNS)).toEqual([]);
    expect(grantStatements(scope, { eks: true }, ESTIMATE_ARNS)).toEqual([
      {
        actions: ['eks:DescribeCluster'],
        resources: ['arn:aws-us-gov:eks:us-east-1:123456789012:cluster/eks-dev-cluster'],
      },
    ]);
    expect(grantStatements(scope, { s3: true }, ESTIMATE_ARNS)).toEqual([
      {
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: ['arn:aws-us-gov:s3:::customer-infra-manager/eks-dev-cluster/*'],
      },
      {
        actions: ['s3:ListBucket'],
        resources: ['arn:aws-us-gov:s3:::customer-infra-manager'],
        condition: { StringLike: { 's3:prefix': ['eks-dev-cluster/*'] } },
      },
    ]);
    const rds = grantStatements(scope, { rdsStartStop: true }, ESTIMATE_ARNS);
    expect(rds).toEqual([
      {
        actions: ['rds:StartDBInstance', 'rds:StopDBInstance'],
        resources: ['arn:aws-us-gov:rds:us-east-1:123456789012:db:*-rds'],
      },
      {
        actions: ['rds:StartDBCluster', 'rds:StopDBCluster'],
        resources: ['arn:aws-us-gov:rds:us-east-1:123456789012:cluster:beta-staging-aurora'],
      },
    ]);
  });

  it('stays far below the IAM limit for the largest role', () => {
    const all = { s3: true, rdsDescribe: true, rdsStartStop: true, eks: true };
    expect(policyChars(grantStatements(scope, all, ESTIMATE_ARNS))).toBeLessThan(ROLE_POLICY_LIMIT / 5);
  });
});
