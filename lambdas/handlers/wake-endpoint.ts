// The deployed wake page (issue 19): API Gateway's HTTP API (JWT authorizer on the configured
// OpenID Connect issuer) invokes this function for GET /, HEAD /, GET /status and POST /wake.
// It reads the records and starts the environment workflow's up carrying the wake
// (#core/wake/deployed, #core/wake/start); it writes nothing.
import { oidcSigningKeys } from '#core/clients/oidc-keys';
import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { SfnExecutions } from '#core/clients/sfn-executions';
import { resolveEnvironment } from '#core/config/catalog';
import { loadDeployedConfig } from '#core/config/deployed';
import { CimError, ErrorNames } from '#core/errors';
import { STATE_MACHINE_ARN_VARIABLE } from '#core/run/wake-ttl';
import {
  CSRF_SECRET_VARIABLE,
  csrfKeyOf,
  deployedWakeEndpoint,
  type HttpApiEvent,
  type HttpApiResult,
} from '#core/wake/deployed';
import { logger } from './runtime.ts';

let handle: ReturnType<typeof deployedWakeEndpoint> | undefined;

/** Built once per cold start: the configuration bundled with the function, the issuer's keys, the CSRF key. */
function endpoint() {
  if (handle) return handle;
  const { config, source } = loadDeployedConfig();
  const settings = config.wake;
  const arn = process.env[STATE_MACHINE_ARN_VARIABLE];
  if (!settings) throw new CimError(ErrorNames.ConfigInvalid, `${source} has no wake section`);
  if (!arn) throw new CimError(ErrorNames.ConfigInvalid, `${STATE_MACHINE_ARN_VARIABLE} is not set`);
  const stores = new Map<string, S3StateStore>();
  handle = deployedWakeEndpoint({
    settings,
    environment: (key) => {
      const [c = '', e = ''] = key.split('/');
      return resolveEnvironment(config, c, e, source);
    },
    store: (env) => {
      const k = `${env.bucketRegion}/${env.bucket}`;
      const s = stores.get(k) ?? new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
      stores.set(k, s);
      return s;
    },
    keys: oidcSigningKeys(settings.issuer),
    secret: csrfKeyOf(process.env[CSRF_SECRET_VARIABLE]),
    start: { executions: new SfnExecutions(), stateMachineArn: arn },
    now: () => new Date(),
    log: (m, extra) => logger.info(m, extra),
  });
  return handle;
}

export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  try {
    return await endpoint()(event);
  } catch (err) {
    // The records or the workflow could not be reached: say so, show nothing of the error.
    logger.error('wake endpoint failed', err as Error);
    return {
      statusCode: 500,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      body: 'the records could not be read; try again\n',
      isBase64Encoded: false,
    };
  }
}
