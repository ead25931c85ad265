// Owns the settings for deploying into a locked-down organization (`stack.vpc`,
// `stack.kms`): their schema, with messages that say what is expected and how to fix it.
// Read at synth only; the functions never see them.
import * as z from 'zod';

const VPC_ID = /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8}([0-9a-f]{9})?$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/;
/** A KMS key ARN in any partition (a multi-Region key too). */
export const KMS_KEY_ARN =
  /^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/(mrk-)?[0-9a-f-]{32,36}$/;

const id = (pattern: RegExp, what: string, example: string) =>
  z.string().regex(pattern, {
    error: (i) => `"${String(i.input)}" is not ${what}; write it as AWS shows it, such as ${example}`,
  });

export const VpcSettings = z
  .object({
    vpcId: id(VPC_ID, 'a VPC id', 'vpc-0123456789abcdef0'),
    subnetIds: z
      .array(id(SUBNET_ID, 'a subnet id', 'subnet-0123456789abcdef0'), {
        error: (i) =>
          i.input === undefined
            ? 'subnetIds is missing: list the private subnets (at least one, better one per availability zone) the functions run in, such as [subnet-0123456789abcdef0]'
            : 'subnetIds must be a list of subnet ids',
      })
      .min(
        1,
        'subnetIds is empty: list at least one private subnet of the VPC, such as [subnet-0123456789abcdef0]',
      ),
    securityGroupIds: z
      .array(id(SECURITY_GROUP_ID, 'a security group id', 'sg-0123456789abcdef0'))
      .min(1)
      .optional()
      .describe('Security groups of the functions; without it the stack creates one (egress 443 and 80).'),
  })
  .strict()
  .describe(
    'Run the functions in these private subnets (they need routes to EKS, STS, S3, RDS, Step Functions, Logs: VPC endpoints or NAT).',
  );

export const KmsSetting = z
  .string({ error: 'stack.kms must be a string: none, create, or a key ARN' })
  .refine((v) => v === 'none' || v === 'create' || KMS_KEY_ARN.test(v), {
    error: (i) =>
      `"${String(i.input)}" is neither none, create nor a KMS key ARN; write none (AWS-managed keys), create (a new key for this stack) or a key ARN such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  })
  .default('none')
  .describe(
    'Customer-managed KMS key for the bucket, logs, functions and state machines: none, create, or a key ARN.',
  );

/** The role the target stack (CustomerInfraManagerTarget) creates in each target account. */
export const TARGET_ROLE_NAME = 'customer-infra-manager-target';
/** The external id the functions present and the target role requires (default). */
export const DEFAULT_EXTERNAL_ID = 'customer-infra-manager';
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/** Per environment or in defaults: the account the environment's cluster and database live in. */
export const TargetSettings = {
  account: z
    .string({ error: 'account must be a string of 12 digits, quoted ("111122223333")' })
    .regex(/^\d{12}$/, {
      error: (i) =>
        `"${String(i.input)}" is not an AWS account id; write the 12 digits, quoted, such as "111122223333"`,
    })
    .optional()
    .describe('AWS account of the cluster and database; the functions assume roleArn there.'),
  roleArn: z
    .string()
    .regex(ROLE_ARN, {
      error: (i) =>
        `"${String(i.input)}" is not an IAM role ARN; write it such as arn:aws:iam::111122223333:role/${TARGET_ROLE_NAME}`,
    })
    .optional()
    .describe(`Role to assume in the target account (default: the target stack's ${TARGET_ROLE_NAME}).`),
  externalId: z
    .string()
    .regex(/^[\w+=,.@:/-]{2,1224}$/, 'an external id of 2-1224 letters, digits or +=,.@:/-')
    .optional()
    .describe(`External id presented when assuming roleArn (default: ${DEFAULT_EXTERNAL_ID}).`),
};

export interface Target {
  account: string;
  roleArn: string;
  externalId: string;
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * The role an environment's functions assume, or null when it lives in the stack's own
 * account. `refuse` throws with the environment named; `at` names where a setting came from.
 */
export function resolveTarget(
  s: {
    region: string;
    account?: string | undefined;
    roleArn?: string | undefined;
    externalId?: string | undefined;
  },
  at: (key: 'account' | 'roleArn') => string,
  refuse: (message: string) => never,
): Target | null {
  if (!s.account && !s.roleArn) return null;
  const partition = partitionOf(s.region);
  if (s.roleArn) {
    const [, rolePartition, roleAccount] = ROLE_ARN.exec(s.roleArn) ?? [];
    if (rolePartition !== partition)
      refuse(
        `roleArn "${s.roleArn}" is in partition ${rolePartition}, but region ${s.region} is in ${partition}; fix ${at('roleArn')} to start with arn:${partition}:iam::`,
      );
    if (s.account && roleAccount !== s.account)
      refuse(
        `roleArn "${s.roleArn}" is in account ${roleAccount}, but account is ${s.account}; fix ${at('roleArn')} or ${at('account')} so that they agree`,
      );
    return {
      account: roleAccount ?? '',
      roleArn: s.roleArn,
      externalId: s.externalId ?? DEFAULT_EXTERNAL_ID,
    };
  }
  const account = s.account ?? '';
  return {
    account,
    roleArn: `arn:${partition}:iam::${account}:role/${TARGET_ROLE_NAME}`,
    externalId: s.externalId ?? DEFAULT_EXTERNAL_ID,
  };
}
