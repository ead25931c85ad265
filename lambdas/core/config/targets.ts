// Owns cross-account targets: the account an environment's cluster and database live in
// (`account`, `roleArn`, `externalId`, per environment or in defaults), their schema, and the
// role the functions assume there, resolved and checked against the environment's region.
import * as z from 'zod';

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
