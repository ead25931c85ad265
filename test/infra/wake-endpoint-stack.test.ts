// The deployed wake page: only with a wake section; an HTTP API whose four routes go through a
// JWT authorizer on the configured issuer and audience to the wake endpoint function; the
// function may read the records and the ledgers, start the environment workflow and read its
// executions, and nothing else (its exact actions); the key only decrypts for it; the stage
// logs every request and is throttled; each configured host is a custom domain of the API.
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_MACHINE_ARN_VARIABLE } from '#core/run/wake-ttl';
import { CSRF_SECRET_VARIABLE } from '#core/wake/deployed';
import { WAKE_API_THROTTLE } from '#infra/constructs/wake-endpoint';
import { buildStack, synthesizeStack } from '../support/synthesized.ts';
import { fixture } from '../support/world.ts';

const WAKE = fixture('wake-endpoint.yaml');
let s: ReturnType<typeof synthesizeStack>;
beforeAll(() => {
  s = synthesizeStack(WAKE);
}, 120_000);

const actions = (st: { Action: string | string[] }) => (Array.isArray(st.Action) ? st.Action : [st.Action]);
const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(c.node.defaultChild as never);
const statementsOf = (roleId: string) =>
  (Object.values(s.template.findResources('AWS::IAM::Policy')) as any[])
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
const endpoint = () => {
  const e = s.stack.wakeEndpoint;
  if (!e) throw new Error('no wake endpoint');
  return e;
};

describe('the wake endpoint in the stack', () => {
  it('is there only when the configuration has a wake section', () => {
    const plain = synthesizeStack();
    expect(plain.stack.wakeEndpoint).toBeUndefined();
    expect(Object.keys(plain.template.findResources('AWS::ApiGatewayV2::Api'))).toEqual([]);
    expect(Object.keys(s.template.findResources('AWS::ApiGatewayV2::Api'))).toHaveLength(1);
  });

  it('checks tokens with a JWT authorizer on the configured issuer and audience', () => {
    const authorizers = Object.values(s.template.findResources('AWS::ApiGatewayV2::Authorizer')) as any[];
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0].Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://login.example.com/realms/dev', Audience: ['cim-wake'] },
    });
  });

  it('routes exactly GET /, HEAD /, GET /status and POST /wake, each through the authorizer to the function', () => {
    const routes = Object.values(s.template.findResources('AWS::ApiGatewayV2::Route')) as any[];
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(
      ['GET /', 'GET /status', 'HEAD /', 'POST /wake'].sort(),
    );
    for (const r of routes) expect(r.Properties.AuthorizationType).toBe('JWT');
    const integrations = Object.values(s.template.findResources('AWS::ApiGatewayV2::Integration')) as any[];
    expect(integrations).toHaveLength(1);
    expect(integrations[0].Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalId(endpoint().function), 'Arn'] },
    });
  });

  it('lets the function read, start the environment workflow and read its executions: these actions exactly', () => {
    const statements = statementsOf(logicalId(endpoint().function.role as never));
    expect([...new Set(statements.flatMap(actions))].sort()).toEqual(
      [
        'kms:Decrypt',
        // StartExecution on a workflow encrypted with the customer key: a data key for its input.
        'kms:GenerateDataKey',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        'states:DescribeExecution',
        'states:StartExecution',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    const start = statements.filter((st) => actions(st).includes('states:StartExecution'));
    expect(start).toHaveLength(1);
    expect(start[0].Resource).toEqual({ Ref: logicalId(s.stack.stateMachine) });
    const describe = statements.find((st) => actions(st).includes('states:DescribeExecution'));
    expect(JSON.stringify(describe.Resource)).toContain(':execution:');
    expect(JSON.stringify(describe.Resource)).toContain(logicalId(s.stack.stateMachine));
    // The person ledgers of the rate limits, beside the environments' prefixes.
    const reads = statements.filter((st) => actions(st).includes('s3:GetObject'));
    expect(JSON.stringify(reads)).toContain('/wake-ledger/users/*');
    // A person's first wake reads a ledger that is not there yet: S3 answers 404 only to a
    // caller allowed to list that key (else 403, a denial), so the function lists that prefix.
    const lists = statements.filter((st) => actions(st).includes('s3:ListBucket'));
    expect(lists.map((st) => st.Condition?.StringLike?.['s3:prefix'])).toContainEqual([
      'wake-ledger/users/*',
    ]);
  });

  it('hands the function the environment workflow and the CSRF secret as a deploy-time reference, never a value', () => {
    const fn = s.template.findResources('AWS::Lambda::Function')[logicalId(endpoint().function)] as any;
    const vars = fn.Properties.Environment.Variables;
    expect(vars[STATE_MACHINE_ARN_VARIABLE]).toEqual({ Ref: logicalId(s.stack.stateMachine) });
    const secret = JSON.stringify(vars[CSRF_SECRET_VARIABLE]);
    expect(secret).toContain('{{resolve:secretsmanager:');
    expect(secret).toContain(logicalId(endpoint().secret));
    expect(fn.Properties.KmsKeyArn).toBeDefined();
  });

  it('logs every request of the stage and throttles it, POST /wake tighter', () => {
    const stages = Object.values(s.template.findResources('AWS::ApiGatewayV2::Stage')) as any[];
    expect(stages).toHaveLength(1);
    const p = stages[0].Properties;
    expect(p.StageName).toBe('$default');
    expect(p.AccessLogSettings.DestinationArn).toEqual({
      'Fn::GetAtt': [logicalId(endpoint().accessLogs), 'Arn'],
    });
    expect(JSON.parse(p.AccessLogSettings.Format)).toMatchObject({ ip: '$context.identity.sourceIp' });
    expect(p.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: WAKE_API_THROTTLE.stage.rateLimit,
      ThrottlingBurstLimit: WAKE_API_THROTTLE.stage.burstLimit,
    });
    expect(p.RouteSettings['POST /wake']).toEqual({
      ThrottlingRateLimit: WAKE_API_THROTTLE.wake.rateLimit,
      ThrottlingBurstLimit: WAKE_API_THROTTLE.wake.burstLimit,
    });
  });

  it('makes each configured host a custom domain of the API with the configured certificate', () => {
    const domains = Object.values(s.template.findResources('AWS::ApiGatewayV2::DomainName')) as any[];
    expect(domains.map((d) => d.Properties.DomainName).sort()).toEqual([
      'alpha-dev.wake.example.com',
      'beta-staging.wake.example.com',
    ]);
    for (const d of domains)
      expect(d.Properties.DomainNameConfigurations[0].CertificateArn).toMatch(/^arn:aws:acm:us-east-1:/);
    expect(Object.keys(s.template.findResources('AWS::ApiGatewayV2::ApiMapping'))).toHaveLength(2);
  });

  it('passes cdk-nag with only the acknowledged findings', () => {
    const { app } = buildStack(WAKE);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
