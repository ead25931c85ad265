// The state machine definition exactly as the CDK stack synthesizes it: the template's
// DefinitionString with Fn::Join resolved and function ARNs filled in (the local engine
// validates ARNs). Bundling is skipped; the ASL does not depend on it.
import { dirname, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfigFile } from '#core/config/file';
import { CimStack } from '#infra/stacks/central-stack';
import { fixture, fixturesDir } from './world.ts';

/** The stack, not yet synthesized (cdk-nag checks run at the app's first synth). */
export function buildStack(configFile = fixture('environments.yaml')) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CimStack(app, 'Test', {
    config: loadConfigFile(configFile),
    configSource: configFile,
    handlersDir: resolve(dirname(fixturesDir), '..', 'lambdas', 'handlers'),
    env: { account: '123456789012', region: 'us-east-1' },
  });
  return { app, stack };
}

export function synthesizeStack(configFile = fixture('environments.yaml')) {
  const { app, stack } = buildStack(configFile);
  return { app, stack, template: Template.fromStack(stack) };
}

type Cfn = string | { 'Fn::GetAtt'?: [string, string]; Ref?: string; [k: string]: unknown };

export function synthesizedDefinition(template = synthesizeStack().template): Record<string, unknown> {
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const props = machines[0]?.Properties as { DefinitionString: unknown } | undefined;
  if (!props) throw new Error('the stack has no state machine');
  const def = props.DefinitionString;
  const join = (def as { 'Fn::Join': [string, Cfn[]] })['Fn::Join'];
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const att = part['Fn::GetAtt'];
      if (att) return `arn:aws:lambda:us-east-1:123456789012:function:${att[0]}`;
      if (part.Ref === 'AWS::Partition') return 'aws';
      if (part.Ref === 'AWS::Region') return 'us-east-1';
      if (part.Ref === 'AWS::AccountId') return '123456789012';
      throw new Error(`unexpected token in DefinitionString: ${JSON.stringify(part)}`);
    })
    .join(join[0]);
  return JSON.parse(text) as Record<string, unknown>;
}
