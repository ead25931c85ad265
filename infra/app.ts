// CDK app entry: reads the configuration file named by the `config` context
// (cdk.json: environments.yaml; override with `-c config=FILE`) at synth time.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { GUARD_NEEDS, NEEDS } from './iam/needs.ts';
import { CimStack } from './stacks/central-stack.ts';
import { CimTargetStack } from './stacks/target-stack.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const app = new App();
const configPath = String(app.node.tryGetContext('config') ?? 'environments.yaml');
const config = loadConfigFile(resolve(root, configPath));
new CimStack(app, config.stack.stackName, {
  config,
  configSource: configPath,
  handlersDir: resolve(root, 'lambdas/handlers'),
  env: {
    ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}),
    region: process.env.CDK_DEFAULT_REGION ?? config.defaults.region ?? 'us-east-1',
  },
  description:
    'customer-infra-manager: suspends and resumes customer environments (EKS + RDS) with an audit trail in S3',
});
// One CustomerInfraManagerTarget stack per target account (cdk deploy it there, with that
// account's credentials, after the central stack): the role the functions assume there.
const central = process.env.CDK_DEFAULT_ACCOUNT ?? String(app.node.tryGetContext('centralAccount') ?? '');
const targetAccounts = new Set(
  Object.keys(config.environments).flatMap((key) => {
    const [customer = '', environment = ''] = key.split('/');
    const t = resolveEnvironment(config, customer, environment, configPath).target;
    return t ? [t.account] : [];
  }),
);
for (const account of targetAccounts) {
  if (!central)
    throw new Error(
      `${configPath}: environments in account ${account} need the central account: run with AWS credentials of the central account, or -c centralAccount=111122223333`,
    );
  new CimTargetStack(app, `CustomerInfraManagerTarget-${account}`, {
    stackName: 'CustomerInfraManagerTarget',
    config,
    configSource: configPath,
    centralAccount: central,
    centralStackName: config.stack.stackName,
    targetAccount: account,
    // Every central function that calls RDS or EKS: the workflow's steps and the guard's.
    needs: { ...NEEDS, ...GUARD_NEEDS },
    env: { account, region: config.defaults.region ?? 'us-east-1' },
  });
}
// Security checks run on every synth: an unacknowledged AwsSolutions finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
