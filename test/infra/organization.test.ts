// Deploying into a locked-down organization: functions in the configured private subnets,
// one customer-managed key for the bucket, logs, functions and state machines, and the
// settings refused at synth when they cannot be right.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfigFile } from '#core/config/file';
import { synthesizeStack } from '../support/synthesized.ts';
import { fixture } from '../support/world.ts';

const org = synthesizeStack(fixture('organization.yaml')).template;
const plain = synthesizeStack().template;
const all = (t: typeof org, type: string) => Object.entries(t.findResources(type)) as [string, any][];
const statements = (t: typeof org) =>
  all(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);

describe('stack.vpc', () => {
  it('runs every function in the configured subnets with a security group that only allows HTTPS and HTTP out', () => {
    const fns = all(org, 'AWS::Lambda::Function');
    const [[sgId, sg]] = all(org, 'AWS::EC2::SecurityGroup') as [[string, any]];
    for (const [id, fn] of fns) {
      expect(fn.Properties.VpcConfig, id).toEqual({
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }],
      });
    }
    expect(sg.Properties.VpcId).toBe('vpc-0123456789abcdef0');
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    expect(
      sg.Properties.SecurityGroupEgress.map((e: any) => [e.IpProtocol, e.FromPort, e.ToPort]).sort(),
    ).toEqual([
      ['tcp', 443, 443],
      ['tcp', 80, 80],
    ]);
  });

  it('leaves the functions outside any VPC without stack.vpc', () => {
    for (const [id, fn] of all(plain, 'AWS::Lambda::Function'))
      expect(fn.Properties.VpcConfig, id).toBeUndefined();
    expect(all(plain, 'AWS::EC2::SecurityGroup')).toEqual([]);
  });
});

describe('stack.kms: create', () => {
  const [[keyId, key]] = all(org, 'AWS::KMS::Key') as [[string, any]];
  const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };

  it('encrypts the bucket (with a bucket key), every log group, every function environment and both state machines', () => {
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const [[, bucket]] = all(org, 'AWS::S3::Bucket') as [[string, any]];
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]).toEqual({
      BucketKeyEnabled: true,
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
    });
    const groups = all(org, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThan(10);
    for (const [id, g] of groups) expect(g.Properties.KmsKeyId, id).toEqual(keyArn);
    for (const [id, fn] of all(org, 'AWS::Lambda::Function'))
      expect(fn.Properties.KmsKeyArn, id).toEqual(keyArn);
    const machines = all(org, 'AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(3); // environment, fleet, seven-day guard
    for (const [id, sm] of machines)
      expect(sm.Properties.EncryptionConfiguration, id).toMatchObject({
        Type: 'CUSTOMER_MANAGED_KMS_KEY',
        KmsKeyId: keyArn,
      });
  });

  it("has a key policy for the account's administrators and CloudWatch Logs of this account's log groups only", () => {
    const policy = key.Properties.KeyPolicy.Statement as any[];
    // Four principals: the account (IAM decides, so that the key cannot be locked out),
    // CloudWatch Logs for this account's log groups, log delivery of the state machines (decrypt
    // only), and this account's CloudWatch alarms publishing to the encrypted notifications topic.
    expect(policy).toHaveLength(4);
    const alarms = policy.find((s) => s.Principal.Service === 'cloudwatch.amazonaws.com');
    expect(list(alarms.Action)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(alarms.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': '123456789012' } });
    const delivery = policy.find((s) => s.Principal.Service === 'delivery.logs.amazonaws.com');
    expect(list(delivery.Action)).toEqual(['kms:Decrypt*']);
    const logs = policy.find((s) => s.Principal.Service === 'logs.us-east-1.amazonaws.com');
    expect(logs.Principal.Service).toBe('logs.us-east-1.amazonaws.com');
    expect(JSON.stringify(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn'])).toContain(
      ':logs:us-east-1:123456789012:log-group:*',
    );
    expect(list(logs.Action)).not.toContain('kms:*');
    const admin = policy.find((s) => s.Principal.AWS);
    expect(JSON.stringify(admin.Principal.AWS)).toContain(':iam::123456789012:root');
  });

  it('grants the functions the key only, never "*"', () => {
    const kms = statements(org).filter((s) => list(s.Action).some((a: string) => a.startsWith('kms:')));
    expect(kms.length).toBeGreaterThan(10);
    for (const s of kms) expect(s.Resource).toEqual(keyArn);
  });

  it('grants "*" only to X-Ray, Step Functions log delivery and SendTaskSuccess, which accept no other resource', () => {
    // IAM's service reference lists no resource type for these (test/scan/iam-reference.test.ts).
    const onStar = statements(org).filter((s) => list(s.Resource).includes('*'));
    for (const s of onStar)
      for (const a of list(s.Action) as string[])
        expect(a, JSON.stringify(s)).toMatch(
          /^(xray:Put|xray:Get|logs:.*LogDeliver|logs:.*ResourcePolic|logs:Describe|states:SendTaskSuccess$)/,
        );
  });
});

function configWith(stack: Record<string, unknown>): string {
  const doc = parse(readFileSync(fixture('organization.yaml'), 'utf8')) as Record<string, any>;
  const file = join(mkdtempSync(join(tmpdir(), 'cim-org-')), 'environments.yaml');
  writeFileSync(file, stringify({ ...doc, stack: { ...doc.stack, ...stack } }));
  return file;
}
const refusal = (stack: Record<string, unknown>) => {
  const file = configWith(stack);
  try {
    loadConfigFile(file);
  } catch (err) {
    return { file, message: (err as Error).message, name: (err as Error).name };
  }
  throw new Error('accepted');
};

describe('bad organization settings are refused at synth, naming the file, the path and the fix', () => {
  it.each([
    [
      'a VPC id without subnets',
      { vpc: { vpcId: 'vpc-0123456789abcdef0' } },
      'stack.vpc.subnetIds',
      /subnetIds is missing: list the private subnets/,
    ],
    [
      'an empty subnet list',
      { vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: [] } },
      'stack.vpc.subnetIds',
      /at least one private subnet/,
    ],
    [
      'a subnet id with a wrong shape',
      { vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-xyz'] } },
      'stack.vpc.subnetIds[0]',
      /"subnet-xyz" is not a subnet id; .* such as subnet-0123456789abcdef0/,
    ],
    [
      'a VPC id with a wrong shape',
      { vpc: { vpcId: 'my-vpc', subnetIds: ['subnet-0123456789abcdef0'] } },
      'stack.vpc.vpcId',
      /"my-vpc" is not a VPC id/,
    ],
    [
      'a KMS value that is none of none, create, a key ARN',
      { kms: 'yes' },
      'stack.kms',
      /"yes" is neither none, create nor a KMS key ARN; write none .*, create .* or a key ARN such as arn:aws:kms:/,
    ],
    [
      'a KMS alias instead of a key ARN',
      { kms: 'alias/my-key' },
      'stack.kms',
      /neither none, create nor a KMS key ARN/,
    ],
  ])('%s', (_what, stack, path, fix) => {
    const r = refusal(stack);
    expect(r.name).toBe('ConfigInvalid');
    expect(r.message).toContain(r.file);
    expect(r.message).toContain(`${path}: `);
    expect(r.message).toMatch(fix);
  });

  it('accepts a key ARN in another partition', () => {
    const file = configWith({
      kms: 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    });
    expect(loadConfigFile(file).stack.kms).toMatch(/^arn:aws-us-gov:kms:/);
  });
});
