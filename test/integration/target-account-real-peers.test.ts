// An environment whose database lives in another account (issue 10): `cim` assumes the
// target role there through moto's STS, stops and starts the database in that account
// (moto keeps each account's resources apart, so the central credentials cannot even see
// it), while the records stay in the central bucket and the deployments in the cluster.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { resetSandbox, TARGET_ACCOUNT } from '../../sandbox/sandbox.ts';
import { cim, dbInstanceState, exists, json, replicas, sandbox, waitForPods } from './peers.ts';

const where = ['--customer', 'xacct', '--env', 'dev'];
const P = `${sandbox.cluster}/xacct/dev`;
const DB = 'xacct-dev-rds';
const aws = {
  region: 'us-east-1',
  endpoint: sandbox.awsEndpoint,
  credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
};

/**
 * The database as the target role sees it (the account it lives in). Assumed on each call:
 * a moto reset forgets which account earlier session credentials belong to.
 */
async function targetDbState() {
  const out = await new STSClient(aws).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${TARGET_ACCOUNT}:role/customer-infra-manager-target`,
      RoleSessionName: 'cim-test-observer',
      ExternalId: 'customer-infra-manager',
    }),
  );
  const c = out.Credentials;
  const rds = new RDSClient({
    ...aws,
    credentials: {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken ?? '',
    },
  });
  return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: DB }))).DBInstances?.[0];
}

describe('an environment in another account, through moto STS AssumeRole', () => {
  it('the database is only visible with the target role', async () => {
    expect((await targetDbState())?.DBInstanceArn).toBe(`arn:aws:rds:us-east-1:${TARGET_ACCOUNT}:db:${DB}`);
    await expect(dbInstanceState(DB)).rejects.toThrow(/not found/i);
  });

  it('down and up stop and start the database in the target account; records stay central', async () => {
    const down = await cim(['down', ...where, '--build', 'x1']);
    expect(down.code, down.stderr + down.stdout).toBe(0);
    expect((await targetDbState())?.DBInstanceStatus).toBe('stopped');
    expect(await replicas('xacct-dev', 'frontend-deployment')).toBe(0);
    expect(await replicas('xacct-dev', 'backend-deployment')).toBe(0);
    expect(await json(`${P}/history/x1/actions.json`)).toMatchObject({
      desired_state: 'down',
      result: 'succeeded',
    });
    expect(await json(`${P}/history/x1/pre-state.json`)).toMatchObject({
      k8s_deployments: {
        'frontend-deployment': { deployment_replicas: 1 },
        'backend-deployment': { deployment_replicas: 2 },
      },
    });

    const up = await cim(['up', ...where, '--build', 'x2']);
    expect(up.code, up.stderr + up.stdout).toBe(0);
    expect((await targetDbState())?.DBInstanceStatus).toBe('available');
    expect(await replicas('xacct-dev', 'backend-deployment')).toBe(2);
    await waitForPods('xacct-dev', 'backend-deployment', { ready: 2 });
    expect(await json(`${P}/history/x2/actions.json`)).toMatchObject({
      desired_state: 'up',
      result: 'succeeded',
    });
  });

  it('with the account of another target, the database is not found there: refused, nothing changed', async () => {
    // The same environment pointed at an account that has no such database: the run must look
    // there (with that account's role), not in the central account or the right target.
    await resetSandbox(sandbox);
    const wrong = join(sandbox.dir, 'wrong-account.yaml');
    writeFileSync(
      wrong,
      readFileSync(sandbox.configFile, 'utf8').replace(
        `xacct/dev: { account: "${TARGET_ACCOUNT}" }`,
        'xacct/dev: { account: "777788889999" }',
      ),
    );
    expect(readFileSync(wrong, 'utf8')).toContain('777788889999');
    const before = (await targetDbState())?.DBInstanceStatus;
    const r = await cim(['down', ...where, '--build', 'x3', '--config', wrong]);
    expect(r.code, r.stderr + r.stdout).toBe(64);
    expect(r.stdout + r.stderr).toContain(`'${DB}' does not exist in account 777788889999`);
    expect((await targetDbState())?.DBInstanceStatus).toBe(before);
    expect(await replicas('xacct-dev', 'backend-deployment')).toBe(2);
    expect(await exists(`${P}/history/x3/actions.json`)).toBe(false);
  });
});
