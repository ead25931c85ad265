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
