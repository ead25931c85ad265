// Where --remote starts its runs: the state machine ARN from --state-machine-arn (or
// CIM_STATE_MACHINE_ARN), otherwise from the outputs of the deployed stack named by
// `stack.stackName` in the configuration. Also turns the SDK's bare "could not load
// credentials" into what to do about it.
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { CimError, ErrorNames } from '#core/errors';

export type StackOutput = 'StateMachineArn' | 'FleetStateMachineArn';

export const CREDENTIALS_HINT =
  'no AWS credentials found for --remote. Use a profile (AWS_PROFILE=name, or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables), ' +
  'log in with SSO (aws sso login --profile name), or try cim locally without AWS: npm run sandbox';

function isCredentialsError(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | null;
  return (
    e?.name === 'CredentialsProviderError' ||
    /Could not load credentials|Token is expired|SSO session .* (expired|invalid)/i.test(e?.message ?? '')
  );
}

/** Runs an AWS call; a missing-credentials failure becomes a PreflightFailed (exit 64) that says what to do. */
export async function withCredentialsHint<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isCredentialsError(err))
      throw new CimError(ErrorNames.PreflightFailed, `${CREDENTIALS_HINT} (${(err as Error).message})`, {
        cause: err,
      });
    throw err;
  }
}

/** The ARN given on the command line, or the stack's output. */
export async function resolveStateMachineArn(o: {
  explicit?: string | undefined;
  stackName: string;
  output?: StackOutput;
  cloudFormation?: CloudFormationClient;
}): Promise<string> {
  if (o.explicit) return o.explicit;
  const output = o.output ?? 'StateMachineArn';
  const cf = o.cloudFormation ?? new CloudFormationClient({});
  const pass = 'or pass --state-machine-arn (CIM_STATE_MACHINE_ARN)';
  let stacks: DescribeStacksCommandOutput;
  try {
    stacks = await withCredentialsHint(() => cf.send(new DescribeStacksCommand({ StackName: o.stackName })));
  } catch (err) {
    if (
      (err as { name?: string }).name === 'ValidationError' &&
      /does not exist/.test((err as Error).message)
    )
      throw new CimError(
        ErrorNames.PreflightFailed,
        `stack "${o.stackName}" is not deployed in this account and region: deploy it (npx cdk deploy), set stack.stackName in the configuration to the deployed stack's name, ${pass}`,
        { cause: err },
      );
    throw err;
  }
  const value = stacks.Stacks?.[0]?.Outputs?.find((x) => x.OutputKey === output)?.OutputValue;
  if (!value)
    throw new CimError(
      ErrorNames.PreflightFailed,
      `stack "${o.stackName}" has no output ${output}: redeploy it with this version (npx cdk deploy), ${pass}`,
    );
  return value;
}
