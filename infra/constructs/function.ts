// One deployed function: its own log group, its own role (logs only to its group, the
// customer key when there is one, target accounts trust it by path) and the Lambda
// function bundled with the local esbuild and the deployed configuration.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { configDigest } from '#core/config/deployed';
import type { Config } from '#core/config/schema';
import { FUNCTIONS, type FunctionId } from '#core/steps';
import {
  BUNDLE,
  configCommandHooks,
  digestDefine,
  esbuildAliasArgs,
  writeDeployedConfig,
} from '../bundling.ts';
import { functionRolePath } from '../stacks/target-stack.ts';
import type { FunctionNetwork } from './organization.ts';

export interface FunctionSettings {
  /** Directory holding the handler files (`<id>.ts`). */
  handlersDir: string;
  /** Digest of the configuration bundled with every function (configDigest). */
  configDigest: string;
  /** The deployed configuration file copied into every bundle. */
  configFile: string;
  /** stack.kms: encrypts the log group and the function's environment. */
  key: IKey | undefined;
  /** stack.vpc: the subnets and security group of every function. */
  network: FunctionNetwork | undefined;
}

/**
 * The functions get `defaults` and `environments` as a file in their bundle (see
 * bundling.ts): written once per synth, named by its digest, in the stage's output.
 */
export function deployedConfigFile(scope: Construct, config: Config): { digest: string; file: string } {
  const digest = configDigest(config);
  const dir = join(Stage.of(scope)?.outdir ?? tmpdir(), 'cim-deployed-config');
  mkdirSync(dir, { recursive: true });
  return { digest, file: writeDeployedConfig(dir, config, `${digest}.json`) };
}

/**
 * Makes the function of one catalog id (its constructs are children of the stack).
 * `startsOnly`: it writes no record, so the customer key only decrypts for it (its
 * environment, the records it reads) and makes data keys, which Step Functions asks of the
 * caller of StartExecution on a state machine encrypted with that key.
 */
export type MakeFunction = (
  id: FunctionId,
  o?: {
    startsOnly?: boolean;
    /** A fixed name, for a function whose own ARN it must know (a reference to itself is a cycle). */
    functionName?: string;
  },
) => NodejsFunction;

/** What the function's description names: the Task states that invoke it, or what does. */
export function invokedBy(id: FunctionId): string {
  const f = FUNCTIONS[id];
  return 'states' in f ? f.states.join(', ') : f.on;
}

/** Every function's construct ids (Logs-, Role-, Fn-<id>) are the stack's children, as deployed. */
export function functionFactory(scope: Construct, s: FunctionSettings): MakeFunction {
  const stack = Stack.of(scope);
  return (id, o = {}) => {
    // Own role instead of AWSLambdaBasicExecutionRole: logs only to this function's group.
    const logGroup = new LogGroup(stack, `Logs-${id}`, {
      ...(s.key ? { encryptionKey: s.key } : {}),
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(stack, `Role-${id}`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      // Target accounts trust these roles by path (never by CloudFormation's truncated name).
      path: functionRolePath(stack.stackName, id),
      description: `customer-infra-manager ${id}: only what this step needs`,
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    // The key decrypts the function's environment and the state records it reads and writes.
    if (o.startsOnly) s.key?.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
    else s.key?.grantEncryptDecrypt(role);
    return new NodejsFunction(stack, `Fn-${id}`, {
      ...(o.functionName ? { functionName: o.functionName } : {}),
      role,
      entry: `${s.handlersDir}/${id}.ts`,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(60),
      tracing: Tracing.ACTIVE,
      ...(s.network ?? {}),
      ...(s.key ? { environmentEncryption: s.key } : {}),
      description: `customer-infra-manager: ${invokedBy(id)}`,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'customer-infra-manager',
        NODE_OPTIONS: '--enable-source-maps',
      },
      logGroup,
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE.target,
        minify: BUNDLE.minify,
        sourceMap: true,
        mainFields: [...BUNDLE.mainFields],
        externalModules: [...BUNDLE.external],
        banner: BUNDLE.banner,
        esbuildArgs: esbuildAliasArgs(),
        define: digestDefine(s.configDigest),
        commandHooks: configCommandHooks(s.configFile),
      },
    });
  };
}
