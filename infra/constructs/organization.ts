// What a locked-down organization needs from the stack, kept out of stack.ts:
// - stack.vpc: the functions run in the given private subnets, with the given security
//   groups or one created here (egress HTTPS and HTTP only: the EKS API endpoint, AWS
//   endpoints and health URLs);
// - stack.kms: one customer-managed key (created here, or an existing key ARN) for the state
//   bucket, every log group, the functions' environment and the state machines, with a key
//   policy that lets CloudWatch Logs use it only for this account's log groups.
import { Stack, Validations } from 'aws-cdk-lib';
import { type ISecurityGroup, type IVpc, Peer, Port, SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { resolveEnvironment } from '#core/config/catalog';
import type { Config } from '#core/config/schema';

export interface FunctionNetwork {
  vpc: IVpc;
  vpcSubnets: { subnets: ReturnType<typeof Subnet.fromSubnetId>[] };
  securityGroups: ISecurityGroup[];
}

/** The VPC settings for every function, or undefined without `stack.vpc`. */
export function functionNetwork(scope: Construct, config: Config): FunctionNetwork | undefined {
  const v = config.stack.vpc;
  if (!v) return undefined;
  // No lookup (synth must work without credentials): the subnets are given, so the
  // availability zones are never used to select them.
  const vpc = Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId: v.vpcId,
    availabilityZones: v.subnetIds.map((_, i) => `az-${i}`),
    privateSubnetIds: v.subnetIds,
  });
  const subnets = v.subnetIds.map((id) => Subnet.fromSubnetId(scope, `Subnet-${id}`, id));
  let securityGroups: ISecurityGroup[];
  if (v.securityGroupIds?.length) {
    securityGroups = v.securityGroupIds.map((id) => SecurityGroup.fromSecurityGroupId(scope, `Sg-${id}`, id));
  } else {
    const sg = new SecurityGroup(scope, 'FunctionsSecurityGroup', {
      vpc,
      description: 'customer-infra-manager functions: HTTPS to the EKS API, AWS endpoints and health URLs',
      allowAllOutbound: false,
    });
    sg.addEgressRule(
      Peer.anyIpv4(),
      Port.tcp(443),
      'HTTPS: EKS API endpoint, AWS service endpoints, health URLs',
    );
    sg.addEgressRule(Peer.anyIpv4(), Port.tcp(80), 'HTTP health URLs');
    securityGroups = [sg];
  }
  return { vpc, vpcSubnets: { subnets }, securityGroups };
}

/** The customer-managed key of `stack.kms`, or undefined for `none`. */
export function customerKey(scope: Construct, config: Config): IKey | undefined {
  const k = config.stack.kms;
  if (k === 'none') return undefined;
  if (k !== 'create') return Key.fromKeyArn(scope, 'Key', k);
  const stack = Stack.of(scope);
  const key = new Key(scope, 'Key', {
    description: `customer-infra-manager ${stack.stackName}: state bucket, logs, functions, state machines`,
    enableKeyRotation: true,
    alias: `alias/customer-infra-manager-${stack.stackName}`,
  });
  // CloudWatch Logs encrypts the log groups with the key, for this account's log groups only.
  key.addToResourcePolicy(
    new PolicyStatement({
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
  return key;
}

/** cdk-nag findings that come with the key, each with its reason. */
export function acknowledgeKeyFindings(scope: Construct, key: IKey | undefined): void {
  if (!key) return;
  for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*'])
    Validations.of(scope).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action} is the CDK's encrypt/decrypt grant on the one customer-managed key of stack.kms (resource: that key only), for S3 SSE-KMS and the encrypted environment.`,
    });
}

/** Environments in other accounts: the functions that call RDS or EKS may assume their target roles (only those). */
export function grantAssumeTargetRoles(
  fns: Record<string, { addToRolePolicy(s: PolicyStatement): unknown }>,
  needs: Record<
    string,
    {
      eks?: boolean;
      rdsDescribe?: boolean;
      rdsStartStop?: boolean;
      nodegroupsDescribe?: boolean;
      nodegroupsUpdate?: boolean;
    }
  >,
  config: Config,
): string[] {
  const roles = new Set<string>();
  for (const key of Object.keys(config.environments)) {
    const [customer = '', environment = ''] = key.split('/');
    const target = resolveEnvironment(config, customer, environment).target;
    if (target) roles.add(target.roleArn);
  }
  if (roles.size === 0) return [];
  for (const [id, fn] of Object.entries(fns)) {
    const n = needs[id];
    if (!n || !(n.eks || n.rdsDescribe || n.rdsStartStop || n.nodegroupsDescribe || n.nodegroupsUpdate))
      continue;
    fn.addToRolePolicy(new PolicyStatement({ actions: ['sts:AssumeRole'], resources: [...roles].sort() }));
  }
  return [...roles].sort();
}
