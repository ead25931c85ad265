// Environments in other accounts: the functions assume the target role with its external
// id and a session name that names the execution, and reuse the credentials until shortly
// before they expire, per role and execution. Also: account and roleArn as configured.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { assumeRoleCredentials, sessionName } from '#core/clients/assume-role';
import { eksToken } from '#core/clients/kubernetes';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { fixture } from '../../../support/world.ts';

const sts = mockClient(STSClient);
afterEach(() => sts.reset());

function configWith(defaults: Record<string, unknown>, env: Record<string, unknown> = {}): string {
  const doc = parse(readFileSync(fixture('environments.yaml'), 'utf8')) as Record<string, any>;
  const file = join(mkdtempSync(join(tmpdir(), 'cim-target-')), 'environments.yaml');
  doc.defaults = { ...doc.defaults, ...defaults };
  doc.environments['alpha/dev'] = env;
  writeFileSync(file, stringify(doc));
  return file;
}
const envOf = (file: string) => resolveEnvironment(loadConfigFile(file), 'alpha', 'dev', file);
const execution =
  'arn:aws:states:us-east-1:111122223333:execution:customer-infra-manager-Cim:alpha-dev-down-42';

describe('target account settings', () => {
  it('derive the target stack role from an account, or take a role ARN as given', () => {
    expect(envOf(configWith({}, { account: '444455556666' })).target).toEqual({
      account: '444455556666',
      roleArn: 'arn:aws:iam::444455556666:role/customer-infra-manager-target',
      externalId: 'customer-infra-manager',
    });
    expect(
      envOf(configWith({ roleArn: 'arn:aws:iam::777788889999:role/cim', externalId: 'acme-cim' })).target,
    ).toEqual({
      account: '777788889999',
      roleArn: 'arn:aws:iam::777788889999:role/cim',
      externalId: 'acme-cim',
    });
    expect(envOf(configWith({})).target).toBeUndefined();
  });

  it.each([
    [
      'an account id that is not 12 digits',
      { account: '12345' },
      /environments\["alpha\/dev"\]|account/,
      /"12345" is not an AWS account id; write the 12 digits, quoted/,
    ],
    [
      'a role ARN in the wrong partition',
      { roleArn: 'arn:aws-cn:iam::444455556666:role/cim' },
      /roleArn/,
      /partition aws-cn, but region us-east-1 is in aws; fix .*roleArn.* to start with arn:aws:iam::/,
    ],
    [
      'a role ARN in another account than account',
      { account: '444455556666', roleArn: 'arn:aws:iam::777788889999:role/cim' },
      /roleArn/,
      /account 777788889999, but account is 444455556666/,
    ],
    [
      'a role ARN that is not one',
      { roleArn: 'cim-role' },
      /roleArn/,
      /"cim-role" is not an IAM role ARN; write it such as arn:aws:iam::/,
    ],
  ])('refuses %s, naming the file, the path and the fix', (_what, env, path, fix) => {
    const file = configWith({}, env);
    let message = '';
    try {
      envOf(file);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(file);
    expect(message).toMatch(path);
    expect(message).toMatch(fix);
  });
});

describe('assumed credentials', () => {
  const target = envOf(configWith({}, { account: '444455556666' }));
  const creds = (n: number, expiration: Date) => ({
    Credentials: {
      AccessKeyId: `AK${n}`,
      SecretAccessKey: 's',
      SessionToken: `t${n}`,
      Expiration: expiration,
    },
  });

  it('assume the role with the external id and a session name that carries the execution', async () => {
    sts.on(AssumeRoleCommand).resolves(creds(1, new Date(Date.now() + 3600_000)));
    const c = await assumeRoleCredentials()(target, execution);
    expect(c).toMatchObject({ accessKeyId: 'AK1', sessionToken: 't1' });
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toMatchObject({
      RoleArn: 'arn:aws:iam::444455556666:role/customer-infra-manager-target',
      ExternalId: 'customer-infra-manager',
      RoleSessionName: 'cim-alpha-dev-down-42',
    });
  });

  it('are cached per role and execution until five minutes before they expire', async () => {
    let t = Date.parse('2026-11-26T10:00:00Z');
    const now = () => new Date(t);
    sts
      .on(AssumeRoleCommand)
      .resolvesOnce(creds(1, new Date(t + 3600_000)))
      .resolvesOnce(creds(2, new Date(t + 7200_000)))
      .resolves(creds(3, new Date(t + 7200_000)));
    const credentialsFor = assumeRoleCredentials(undefined, now);
    expect((await credentialsFor(target, execution))?.accessKeyId).toBe('AK1');
    t += 50 * 60_000; // 10 minutes left: reuse
    expect((await credentialsFor(target, execution))?.accessKeyId).toBe('AK1');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    t += 6 * 60_000; // 4 minutes left: refresh
    expect((await credentialsFor(target, execution))?.accessKeyId).toBe('AK2');
    // Another execution gets its own session.
    expect((await credentialsFor(target, `${execution}-other`))?.accessKeyId).toBe('AK3');
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleSessionName)).toEqual([
      'cim-alpha-dev-down-42',
      'cim-alpha-dev-down-42',
      'cim-alpha-dev-down-42-other',
    ]);
  });

  it('are not needed for an environment in the stack account', async () => {
    expect(await assumeRoleCredentials()(envOf(configWith({})), execution)).toBeUndefined();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('name the fix when the role refuses', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    await expect(assumeRoleCredentials()(target, execution)).rejects.toMatchObject({
      name: 'PreflightFailed',
      message: expect.stringMatching(
        /cannot assume .* deploy the CustomerInfraManagerTarget stack in account 444455556666/,
      ),
    });
  });

  it('keep session names valid and within 64 characters', () => {
    expect(sessionName(`${execution}${'x'.repeat(80)}`)).toHaveLength(64);
    expect(sessionName('local:12:ab cd')).toBe('cim-ab-cd');
  });

  it('sign the EKS token of a cluster in the target account with the target role', async () => {
    const token = await eksToken('eks-dev-cluster', 'us-east-1', async () => ({
      accessKeyId: 'AKTARGET',
      secretAccessKey: 's',
      sessionToken: 'target-session',
      expiration: new Date(Date.now() + 3600_000),
    }));
    const url = Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString();
    expect(url).toContain('X-Amz-Credential=AKTARGET');
    expect(url).toContain('X-Amz-Security-Token=target-session');
  });
});
