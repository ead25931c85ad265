// Synthesizes the stack(s) of a configuration file into a directory for the template
// scanners, exactly as `cdk synth` does (cdk-nag on, acknowledgements applied) but without
// bundling the functions: the scanners read the templates, not the code.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { GUARD_NEEDS, NEEDS } from '#infra/iam/needs';
import { CimStack } from '#infra/stacks/central-stack';
import { CimTargetStack } from '#infra/stacks/target-stack';

const root = resolve(import.meta.dirname, '..', '..');

/** Returns the template files written under `outdir`. */
export function synthesizeForScan(configFile: string, outdir: string): string[] {
  mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const config = loadConfigFile(configFile);
  new CimStack(app, config.stack.stackName, {
    config,
    configSource: configFile,
    handlersDir: join(root, 'lambdas', 'handlers'),
    env: { account: '111122223333', region: config.defaults.region ?? 'us-east-1' },
  });
  const accounts = new Set(
    Object.keys(config.environments).flatMap((key) => {
      const [customer = '', environment = ''] = key.split('/');
      const t = resolveEnvironment(config, customer, environment, configFile).target;
      return t ? [t.account] : [];
    }),
  );
  for (const account of accounts)
    new CimTargetStack(app, `CustomerInfraManagerTarget-${account}`, {
      stackName: 'CustomerInfraManagerTarget',
      config,
      configSource: configFile,
      centralAccount: '111122223333',
      centralStackName: config.stack.stackName,
      targetAccount: account,
      // As infra/app.ts: the guard's step assumes the target role too.
      needs: { ...NEEDS, ...GUARD_NEEDS },
      env: { account, region: config.defaults.region ?? 'us-east-1' },
    });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  return assembly.stacks.map((s) => join(outdir, s.templateFile));
}
