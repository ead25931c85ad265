// Environments in other accounts: the CustomerInfraManagerTarget stack (synthesized without
// credentials, cdk-nag on) holds the role the central functions assume there.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesizeForScan } from '../scan/synth.ts';
import { fixture } from '../support/world.ts';

const files = synthesizeForScan(fixture('organization.yaml'), mkdtempSync(join(tmpdir(), 'cim-target-')));
const load = (name: string) => {
  const file = files.find((f) => f.includes(name));
  if (!file) throw new Error(`no template ${name} in ${files.join(', ')}`);
  return JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, any> };
};
const target = load('CustomerInfraManagerTarget-444455556666');
const central = load('CimOrg.template');
const of = (t: typeof target, type: string) => Object.values(t.Resources).filter((r) => r.Type === type);
const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
const flat = (v: any): string => {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(flat).join(',');
  if (v?.['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(flat).join(v['Fn::Join'][0]);
  if (v?.Ref === 'AWS::Partition') return 'aws';
  if (v && typeof v === 'object') return Object.values(v).map(flat).join(',');
  return String(v);
};

describe('the target stack', () => {
  const [role] = of(target, 'AWS::IAM::Role');

  it('creates the role trusting only the central function roles that call RDS or EKS, with the external id', () => {
    expect(role.Properties.RoleName).toBe('customer-infra-manager-target');
    const [trust, ...more] = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(more).toEqual([]);
    expect(trust.Action).toBe('sts:AssumeRole');
    expect(flat(trust.Principal)).toContain('arn:aws:iam::111122223333:root');
    expect(trust.Condition.StringEquals).toEqual({ 'sts:ExternalId': ['customer-infra-manager'] });
    const patterns = trust.Condition.ArnLike['aws:PrincipalArn'].map(flat);
    expect(patterns).toContain('arn:aws:iam::111122223333:role/customer-infra-manager/CimOrg/prepare/*');
    expect(patterns).toContain(
      'arn:aws:iam::111122223333:role/customer-infra-manager/CimOrg/stop-database/*',
    );
    expect(patterns.some((p: string) => /record-intent|check-health|plan-dry-run|fleet/.test(p))).toBe(false);
  });

  it('may only describe, start and stop the configured database and describe the cluster there, never on "*"', () => {
    const statements = of(target, 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => list(s.Action)).sort();
    expect(actions).toEqual([
      'eks:DescribeCluster',
      'rds:DescribeDBClusters',
      'rds:StartDBCluster',
      'rds:StopDBCluster',
    ]);
    for (const s of statements) {
      expect(s.Resource).not.toBe('*');
      expect(flat(s.Resource)).toMatch(/^arn:aws:(rds|eks):us-east-1:444455556666:/);
    }
  });

  it('gives the role an EKS access entry in the writer group, with no access policy and no namespace list', () => {
    const entries = of(target, 'AWS::EKS::AccessEntry');
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry.Properties.KubernetesGroups).toEqual(['customer-infra-manager-writers']);
    expect(entry.Properties.AccessPolicies).toBeUndefined();
    expect(JSON.stringify(entry)).not.toContain('beta-staging');
  });

  it('lets the central functions that call RDS or EKS assume exactly that role', () => {
    const assume = of(central, 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => list(s.Action).includes('sts:AssumeRole'));
    // Every function that calls RDS or EKS: the environment workflow's (with the database event wait), the whole-environment phases' (autoscalers and node groups too), the Ingresses' (issue 19), the guard's step.
    expect(assume.length).toBe(23);
    for (const s of assume)
      expect(s.Resource).toEqual('arn:aws:iam::444455556666:role/customer-infra-manager-target');
    // The guard re-stops databases there too: its step may assume the role it is trusted for.
    const guardStep = of(central, 'AWS::IAM::Policy').filter((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith('Roleguardstep')),
    );
    expect(
      guardStep.flatMap((p) => p.Properties.PolicyDocument.Statement).flatMap((s: any) => list(s.Action)),
    ).toContain('sts:AssumeRole');
  });

  it('trusts each of those central roles by its IAM path, whatever CloudFormation names it', () => {
    const [trust] = role.Properties.AssumeRolePolicyDocument.Statement;
    const globs = (trust.Condition.ArnLike['aws:PrincipalArn'] as unknown[])
      .map(flat)
      .map((p) => new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`));
    const assumingRoles = of(central, 'AWS::IAM::Policy')
      .filter((p) =>
        p.Properties.PolicyDocument.Statement.some((s: any) => list(s.Action).includes('sts:AssumeRole')),
      )
      .flatMap((p) => p.Properties.Roles.map((r: { Ref: string }) => central.Resources[r.Ref]));
    // One per function that calls RDS or EKS (counted in the test above).
    expect(assumingRoles.length).toBe(
      of(central, 'AWS::IAM::Policy')
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((s: any) => list(s.Action).includes('sts:AssumeRole')).length,
    );
    expect(assumingRoles.length).toBeGreaterThan(10);
    for (const r of assumingRoles) {
      // A name as long as CloudFormation may generate (64 characters), under the role's path.
      const arn = `arn:aws:iam::111122223333:role${r.Properties.Path}${'N'.repeat(64)}`;
      expect(
        globs.some((g) => g.test(arn)),
        arn,
      ).toBe(true);
    }
    // And no role that does not call RDS or EKS.
    const others = of(central, 'AWS::IAM::Role').filter(
      (r) => !assumingRoles.includes(r) && r.Properties.Path,
    );
    expect(others.length).toBeGreaterThan(0);
    for (const r of others)
      expect(globs.some((g) => g.test(`arn:aws:iam::111122223333:role${r.Properties.Path}x`))).toBe(false);
  });
});
