// The deployed wake page (issue 19), only when the configuration has a `wake` section: an API
// Gateway HTTP API whose routes (GET /, HEAD /, GET /status, POST /wake) go to the wake
// endpoint function through a JWT authorizer on the configured OpenID Connect issuer and
// audience. The function verifies the token again (the claim rules are its own) and answers
// only the configured hosts.
// - Hosts: with `wake.certificateArn`, each host of `wake.hosts` becomes a custom domain of
//   the API (its DNS name, a CNAME or alias to the output's target, is the operator's);
//   without it, the operator makes those custom domains elsewhere. The host is the custom
//   domain API Gateway routed the request on (requestContext.domainName, which it always
//   sets), never a Host header a proxy passes: the default execute-api address, and a proxy
//   pointed at it, answer 404 (it is no configured host).
// - Least privilege: the function reads the records (WAKE_ENDPOINT_NEEDS), starts the
//   environment workflow and reads its executions; it writes nothing, and the customer key
//   only decrypts and makes data keys for it (StartExecution on an encrypted workflow).
// - The CSRF key: a secret the stack generates (Secrets Manager), resolved by CloudFormation
//   into the function's environment (encrypted with the customer key when there is one), so
//   every instance agrees; the function needs no permission to read it.
// - Access logs on the stage (JSON, no token, no claims), throttling on the stage and tighter
//   on POST /wake (WAKE_API_THROTTLE).
import { Arn, ArnFormat, CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  ApiMapping,
  type CfnStage,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { WakeSettings } from '#core/config/wake';
import { STATE_MACHINE_ARN_VARIABLE } from '#core/run/wake-ttl';
import { WAKE_ENDPOINT_FUNCTION } from '#core/steps';
import { CSRF_SECRET_VARIABLE } from '#core/wake/deployed';
import type { ScopedGrants } from '../iam/grants.ts';
import { WAKE_ENDPOINT_NEEDS } from '../iam/needs.ts';
import type { MakeFunction } from './function.ts';

/** The routes of the page, all behind the JWT authorizer. */
export const WAKE_ROUTES = [
  { method: HttpMethod.GET, path: '/' },
  { method: HttpMethod.HEAD, path: '/' },
  { method: HttpMethod.GET, path: '/status' },
  { method: HttpMethod.POST, path: '/wake' },
] as const;

/**
 * Requests per second (steady, burst): the stage, and POST /wake. A page polls /status every
 * few seconds per open tab; a wake is a press. The account's own limit (10,000/s) is far above.
 */
export const WAKE_API_THROTTLE = {
  stage: { rateLimit: 20, burstLimit: 40 },
  wake: { rateLimit: 2, burstLimit: 5 },
} as const;

export interface WakeEndpoint {
  function: NodejsFunction;
  api: HttpApi;
  stage: HttpStage;
  secret: Secret;
  accessLogs: LogGroup;
  domains: DomainName[];
}

export function addWakeEndpoint(
  scope: Construct,
  o: {
    settings: WakeSettings;
    makeFunction: MakeFunction;
    grants: ScopedGrants;
    environmentWorkflow: IStateMachine;
    key: IKey | undefined;
  },
): WakeEndpoint {
  const stack = Stack.of(scope);
  const fn = o.makeFunction(WAKE_ENDPOINT_FUNCTION, { startsOnly: true });
  o.grants.grant(fn, WAKE_ENDPOINT_NEEDS);
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['states:StartExecution'],
      resources: [o.environmentWorkflow.stateMachineArn],
    }),
  );
  // Its executions only: is the execution of a wake's name still running?
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['states:DescribeExecution'],
      resources: [wakeExecutionsArn(stack, o.environmentWorkflow)],
    }),
  );
  fn.addEnvironment(STATE_MACHINE_ARN_VARIABLE, o.environmentWorkflow.stateMachineArn);

  const secret = new Secret(scope, 'WakeCsrfSecret', {
    description:
      "customer-infra-manager: the wake page's CSRF key (any value; replacing it only makes open pages reload)",
    generateSecretString: { passwordLength: 64, excludePunctuation: true },
    ...(o.key ? { encryptionKey: o.key } : {}),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  fn.addEnvironment(CSRF_SECRET_VARIABLE, secret.secretValue.unsafeUnwrap());

  const api = new HttpApi(scope, 'WakeApi', {
    description: 'customer-infra-manager: the wake page (issue 19)',
    createDefaultStage: false,
  });
  const authorizer = new HttpJwtAuthorizer('WakeJwt', o.settings.issuer, {
    jwtAudience: [o.settings.audience],
    identitySource: ['$request.header.Authorization'],
  });
  const integration = new HttpLambdaIntegration('WakePage', fn);
  for (const r of WAKE_ROUTES) api.addRoutes({ path: r.path, methods: [r.method], integration, authorizer });

  const accessLogs = new LogGroup(scope, 'WakeApiAccessLogs', {
    ...(o.key ? { encryptionKey: o.key } : {}),
    retention: RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const stage = new HttpStage(scope, 'WakeApiStage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle: WAKE_API_THROTTLE.stage,
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          time: '$context.requestTime',
          ip: '$context.identity.sourceIp',
          domain: '$context.domainName',
          route: '$context.routeKey',
          status: '$context.status',
          length: '$context.responseLength',
          authorizerError: '$context.authorizer.error',
          integrationError: '$context.integrationErrorMessage',
        }),
      ),
    },
  });
  (stage.node.defaultChild as CfnStage).addPropertyOverride('RouteSettings', {
    'POST /wake': {
      ThrottlingRateLimit: WAKE_API_THROTTLE.wake.rateLimit,
      ThrottlingBurstLimit: WAKE_API_THROTTLE.wake.burstLimit,
    },
  });

  const domains: DomainName[] = [];
  if (o.settings.certificateArn) {
    const certificate = Certificate.fromCertificateArn(scope, 'WakeCertificate', o.settings.certificateArn);
    Object.keys(o.settings.hosts)
      .sort()
      .forEach((host, i) => {
        const domain = new DomainName(scope, `WakeDomain${i}`, { domainName: host, certificate });
        new ApiMapping(scope, `WakeDomainMapping${i}`, { api, domainName: domain, stage });
        new CfnOutput(scope, `WakeDomainTarget${i}`, {
          value: domain.regionalDomainName,
          description: `wake page ${host}: point its DNS name (CNAME or alias) here`,
        });
        domains.push(domain);
      });
  }
  new CfnOutput(scope, 'WakeApiEndpoint', {
    value: api.apiEndpoint,
    description: 'the wake page API (answers only the configured wake.hosts, through their custom domains)',
  });
  return { function: fn, api, stage, secret, accessLogs, domains };
}

/** The environment workflow's executions: arn:…:execution:<its name>:* */
function wakeExecutionsArn(stack: Stack, machine: IStateMachine): string {
  const name = Arn.split(machine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
  return stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${name}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
