// Owns credentials for environments in other accounts: the functions assume the
// environment's target role (with its external id; the session name carries the
// execution, so CloudTrail in the target account shows which run did what) and keep the
// credentials until shortly before they expire, per role and execution.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Environment } from '../config/schema.ts';
import { CimError, ErrorNames } from '../errors.ts';

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** Refresh this long before expiry, so that a call never starts with credentials about to lapse. */
const REFRESH_MS = 5 * 60_000;

/** A valid RoleSessionName (2-64 of [\w+=,.@-]) naming the execution: `cim-<execution name>`. */
export function sessionName(execution: string): string {
  const name = execution.split(':').pop() || execution;
  const clean = `cim-${name}`.replace(/[^\w+=,.@-]/g, '-');
  return clean.length <= 64 ? clean : clean.slice(0, 64);
}

export type CredentialsFor = (
  env: Environment,
  execution: string,
) => Promise<TemporaryCredentials | undefined>;

/** Credentials per (role, execution), assumed once and reused until 5 minutes before they expire. */
export function assumeRoleCredentials(
  sts: (region: string) => STSClient = (region) => new STSClient({ region }),
  now: () => Date = () => new Date(),
): CredentialsFor {
  const cache = new Map<string, Promise<TemporaryCredentials>>();
  return async (env, execution) => {
    const target = env.target;
    if (!target) return undefined;
    const session = sessionName(execution);
    const key = `${target.roleArn}|${target.externalId}|${session}`;
    const cached = cache.get(key);
    if (cached) {
      const c = await cached.catch(() => undefined);
      if (c && c.expiration.getTime() - now().getTime() > REFRESH_MS) return c;
    }
    const fresh = (async () => {
      try {
        const out = await sts(env.region).send(
          new AssumeRoleCommand({
            RoleArn: target.roleArn,
            ExternalId: target.externalId,
            RoleSessionName: session,
            DurationSeconds: 3600,
          }),
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration)
          throw new Error('AssumeRole returned no credentials');
        return {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
          expiration: c.Expiration,
        };
      } catch (err) {
        cache.delete(key);
        // Throttling and network errors keep their name (the workflow retries them); a refusal names the fix.
        if ((err as Error).name !== 'AccessDenied') throw err;
        throw new CimError(
          ErrorNames.PreflightFailed,
          `environment "${env.customer}/${env.environment}": cannot assume ${target.roleArn} (external id ${target.externalId}): ${(err as Error).message}; deploy the CustomerInfraManagerTarget stack in account ${target.account} and check that it trusts this stack's function roles`,
          { cause: err },
        );
      }
    })();
    cache.set(key, fresh);
    return fresh;
  };
}

let execution = 'local';
/** The execution the current invocation serves (the Lambda shell sets it; the CLI's runs use "local"). */
export function setCurrentExecution(id: string | undefined): void {
  execution = id ?? 'local';
}
export function currentExecution(): string {
  return execution;
}
