// CDK app entry: reads the configuration file named by the `config` context
// (cdk.json: environments.yaml; override with `-c config=FILE`) at synth time.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfigFile } from '#core/config-file';
import { CimStack } from './stack.ts';

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
// Security checks run on every synth: an unacknowledged AwsSolutions finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
