// The workflow with the real handlers against a real Kubernetes control plane (RBAC on,
// kwok nodes) and moto: what the API server, RDS and the bucket hold afterwards.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { Steps } from '#core/steps';
import { resetSandbox } from '../../sandbox/sandbox.ts';
import { fixture } from '../support/world.ts';
import {
  apps,
  dbClusterState,
  dbInstanceState,
  etags,
  exists,
  indexRuns,
  json,
  keys,
  orchestratorApps,
  pods,
  put,
  recordKeys,
  replicas,
  run,
  sandbox,
  stopInstance,
  waitForPods,
} from './peers.ts';

const P = 'eks-dev-cluster/alpha/dev';

beforeEach(async () => {
  await resetSandbox(sandbox);
});

describe("the legacy README's scenario on alpha/dev", () => {
  it('down scales to 0 and stops the database; up restores 1 and 2 and waits for health', async () => {
    const down = await run({ action: 'down', build: '10' });
    expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
    expect(await replicas('alpha-dev', 'frontend-deployment')).toBe(0);
    expect(await replicas('alpha-dev', 'backend-deployment')).toBe(0);
    await waitForPods('alpha-dev', 'frontend-deployment', { total: 0 });
    await waitForPods('alpha-dev', 'backend-deployment', { total: 0 });
    expect(await dbInstanceState('alpha-dev-rds')).toBe('stopped');
    expect(await recordKeys(P)).toEqual([
      `${P}/actions.json`,
      `${P}/history/10/actions.json`,
      `${P}/history/10/post-state.json`,
      `${P}/history/10/pre-state.json`,
    ]);
    expect(await indexRuns(P)).toEqual(['10-down']);
    const pre = await json(`${P}/history/10/pre-state.json`);
    const legacy = JSON.parse(readFileSync(fixture('legacy-pre-state-build-10.json'), 'utf8'));
    // Every legacy key, in the legacy shape; new keys are additive only (issue 18: pod requests).
    expect(Object.keys(pre)).toEqual(expect.arrayContaining(Object.keys(legacy)));
    expect(Object.keys(pre.k8s_deployments['frontend-deployment'])).toEqual(
      expect.arrayContaining(Object.keys(legacy.k8s_deployments['frontend-deployment'])),
    );
    expect(pre.k8s_deployments['backend-deployment']).toMatchObject({
      deployment_replicas: 2,
      deployment_available: true,
      app_status: 'up',
    });
    const post = await json(`${P}/history/10/post-state.json`);
    expect(post.k8s_deployments['backend-deployment']).toMatchObject({
      deployment_replicas: 0,
      deployment_available: false,
      app_status: 'down',
    });
    expect(post.aws_rds.rds_state).toBe('stopped');
    expect(await json(`${P}/actions.json`)).toMatchObject({
      desired_state: 'down',
      jenkins_build: '10',
      jenkins_user: 'jenkins-user',
    });
    expect(await exists(`${P}/lock.json`)).toBe(false);
    const health = await fetch(`${sandbox.healthBase}/alpha-dev/frontend-deployment/healthz`);
    expect(health.status).toBe(503);

    const up = await run({ action: 'up', build: '11' });
    expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
    expect(up.path).toContain(Steps.checkHealth);
    expect(await replicas('alpha-dev', 'frontend-deployment')).toBe(1);
    expect(await replicas('alpha-dev', 'backend-deployment')).toBe(2);
    expect(await pods('alpha-dev', 'backend-deployment')).toMatchObject({ ready: 2 });
    expect(await pods('alpha-dev', 'frontend-deployment')).toMatchObject({ ready: 1 });
    expect(await dbInstanceState('alpha-dev-rds')).toBe('available');
    for (const app of ['frontend-deployment', 'backend-deployment']) {
      expect((await fetch(`${sandbox.healthBase}/alpha-dev/${app}/healthz`)).status).toBe(200);
    }
    expect(await json(`${P}/actions.json`)).toMatchObject({
      desired_state: 'up',
      jenkins_build: '11',
      restored_from_build: '10',
    });
    const upPost = await json(`${P}/history/11/post-state.json`);
    expect(upPost.k8s_deployments['frontend-deployment']).toMatchObject({
      deployment_replicas: 1,
      deployment_available: true,
      app_status: 'up',
    });
  });

  it('get_env_state (recorded the legacy way) changes nothing in the API server and only adds its own records', async () => {
    const before = {
      generation: (
        await apps.readNamespacedDeployment({ namespace: 'alpha-dev', name: 'backend-deployment' })
      ).metadata?.generation,
      db: await dbInstanceState('alpha-dev-rds'),
    };
    await run({ action: 'down', build: '20' });
    const genAfterDown = (
      await apps.readNamespacedDeployment({ namespace: 'alpha-dev', name: 'backend-deployment' })
    ).metadata?.generation;
    expect(genAfterDown).toBeGreaterThan(before.generation ?? 0);
    const tagsBefore = await etags(P);

    const readOnly = await run({ action: 'get_env_state', build: '20b' });
    expect(readOnly.status).toBe('SUCCEEDED');
    expect(await etags(P)).toEqual(tagsBefore);
    const state = await run({ action: 'get_env_state', build: '21', record: true });
    expect(state.status).toBe('SUCCEEDED');
    expect(
      (await apps.readNamespacedDeployment({ namespace: 'alpha-dev', name: 'backend-deployment' })).metadata
        ?.generation,
    ).toBe(genAfterDown);
    expect(await dbInstanceState('alpha-dev-rds')).toBe('stopped');
    const tagsAfter = await etags(P);
    for (const [k, tag] of Object.entries(tagsBefore))
      if (k !== `${P}/actions.json`) expect(tagsAfter[k]).toBe(tag);
    expect(
      Object.keys(tagsAfter)
        .filter((k) => !(k in tagsBefore) && !k.includes('/index/'))
        .sort(),
    ).toEqual([
      `${P}/history/21/actions.json`,
      `${P}/history/21/post-state.json`,
      `${P}/history/21/pre-state.json`,
    ]);
    // And its row in the report's index.
    expect(await indexRuns(P)).toContain('21-get_env_state');
  });
});

describe('refusals', () => {
  it('refuses up on a new environment and writes nothing', async () => {
    const r = await run({ action: 'up', build: '1' });
    expect(r.error?.Error).toBe('ActionRefused');
    expect(r.path).toEqual([Steps.inputIsObject, Steps.prepare, Steps.refused]);
    expect(await keys(P)).toEqual([]);
    expect(await dbInstanceState('alpha-dev-rds')).toBe('available');
  });

  it('refuses down right after down', async () => {
    expect((await run({ action: 'down', build: '1' })).status).toBe('SUCCEEDED');
    const before = await etags(P);
    const r = await run({ action: 'down', build: '2' });
    expect(r.error?.Error).toBe('ActionRefused');
    expect(await etags(P)).toEqual(before);
  });
});

describe('RBAC', () => {
  it('the orchestrator user can scale in its namespaces and nothing more', async () => {
    await expect(
      orchestratorApps.deleteNamespacedDeployment({ namespace: 'alpha-dev', name: 'frontend-deployment' }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(
      orchestratorApps.readNamespacedDeployment({ namespace: 'delta-dev', name: 'frontend-deployment' }),
    ).rejects.toMatchObject({ code: 403 });
  });

  it('refuses a down in a namespace without rights before any change (preflight), writing nothing', async () => {
    const r = await run({ action: 'down', customer: 'delta', environment: 'dev', build: '1' });
    expect(r.status).toBe('FAILED');
    expect(r.error?.Error).toBe('PreflightFailed');
    expect(r.error?.Cause).toMatch(/delta-dev\/.*access denied \(HTTP 403\)/);
    const D = 'eks-dev-cluster/delta/dev';
    expect(await keys(D)).toEqual([]);
    expect(await replicas('delta-dev', 'frontend-deployment')).toBe(1);
    expect(await dbInstanceState('delta-dev-rds')).toBe('available');
  });
});

it('reports a configured deployment that does not exist and still scales the others', async () => {
  const r = await run({ action: 'down', customer: 'gamma', environment: 'dev', build: '1' });
  expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
  expect(await replicas('gamma-dev', 'frontend-deployment')).toBe(0);
  const rec = await json('eks-dev-cluster/gamma/dev/actions.json');
  expect(rec.skipped).toEqual([
    { deployment: 'ghost-deployment', reason: 'deployment gamma-dev/ghost-deployment does not exist' },
  ]);
  const pre = await json('eks-dev-cluster/gamma/dev/history/1/pre-state.json');
  expect(pre.k8s_deployments['ghost-deployment'].deployment_exists).toBe(false);
});

it('two downs at the same time: exactly one proceeds, the other is refused by the lock', async () => {
  const [a, b] = await Promise.all([
    run({ action: 'down', build: '31' }),
    run({ action: 'down', build: '32' }),
  ]);
  const results = [a, b].map((r) => r.error?.Error ?? 'ok').sort();
  expect(results).toEqual(['EnvironmentLocked', 'ok']);
  const winner = a.status === 'SUCCEEDED' ? '31' : '32';
  const loser = winner === '31' ? '32' : '31';
  expect(await keys(`${P}/history/${winner}/`)).toHaveLength(3);
  expect(await keys(`${P}/history/${loser}/`)).toEqual([]);
  expect(await json(`${P}/actions.json`)).toMatchObject({ jenkins_build: winner, desired_state: 'down' });
  expect(await exists(`${P}/lock.json`)).toBe(false);
});

it('restores the counts from history written by the legacy tool', async () => {
  await put(
    `${P}/history/10/pre-state.json`,
    JSON.parse(readFileSync(fixture('legacy-pre-state-build-10.json'), 'utf8')),
  );
  await put(
    `${P}/history/11/pre-state.json`,
    JSON.parse(readFileSync(fixture('legacy-state-down.json'), 'utf8')),
  );
  await put(`${P}/actions.json`, JSON.parse(readFileSync(fixture('legacy-actions-build-10.json'), 'utf8')));
  for (const name of ['frontend-deployment', 'backend-deployment']) {
    await apps.patchNamespacedDeploymentScale({
      namespace: 'alpha-dev',
      name,
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
  }
  await stopInstance('alpha-dev-rds');

  const r = await run({ action: 'up', build: '12' });
  expect(r.status, JSON.stringify(r.error)).toBe('SUCCEEDED');
  expect(await replicas('alpha-dev', 'frontend-deployment')).toBe(1);
  expect(await replicas('alpha-dev', 'backend-deployment')).toBe(2);
  expect(await dbInstanceState('alpha-dev-rds')).toBe('available');
  expect(await json(`${P}/history/12/actions.json`)).toMatchObject({ restored_from_build: '10' });
});

it('stops and starts an Aurora cluster as a cluster', async () => {
  const down = await run({ action: 'down', customer: 'beta', environment: 'staging', build: '1' });
  expect(down.status, JSON.stringify(down.error)).toBe('SUCCEEDED');
  expect(await dbClusterState('beta-staging-aurora')).toBe('stopped');
  const up = await run({ action: 'up', customer: 'beta', environment: 'staging', build: '2' });
  expect(up.status, JSON.stringify(up.error)).toBe('SUCCEEDED');
  expect(await dbClusterState('beta-staging-aurora')).toBe('available');
  expect(await replicas('beta-staging', 'backend-deployment')).toBe(1);
});

function exec(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv },
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { ...opts, encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('the cim command, as a Jenkins job calls it', () => {
  // Asynchronous on purpose: the sandbox's health endpoints answer from this process.
  const cim = (args: string[], env: Record<string, string>) =>
    exec(process.execPath, ['bin/cim.mjs', ...args], {
      env: {
        ...process.env,
        KUBECONFIG: sandbox.orchestratorKubeconfig,
        CIM_CONFIG_FILE: sandbox.configFile,
        AWS_ENDPOINT_URL: sandbox.awsEndpoint,
        AWS_ACCESS_KEY_ID: 'sandbox',
        AWS_SECRET_ACCESS_KEY: 'sandbox',
        ...env,
      },
    });

  it('legacy variables run down (exit 0), then a second down is refused (exit 2)', async () => {
    const legacy = {
      ACTION: 'down',
      CUSTOMER: 'alpha',
      ENVIRONMENT: 'dev',
      BUILD_NUMBER: '40',
      BUILD_USER: 'jenkins-user',
      EKS_CLUSTER: 'eks-dev-cluster',
      AWS_REGION: 'us-east-1',
      S3_BUCKET_NAME: sandbox.bucket,
      S3_REGION: 'us-east-1',
    };
    const first = await cim([], legacy);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('[=== record_actions_s3: actions.json ===]');
    const pre = await json(`${P}/history/40/pre-state.json`);
    expect(pre.k8s_deployments['backend-deployment'].app_status).toBe('up');
    expect(await replicas('alpha-dev', 'backend-deployment')).toBe(0);
    const second = await cim(['--json'], { ...legacy, BUILD_NUMBER: '41' });
    expect(second.status).toBe(2);
    expect(JSON.parse(second.stdout)).toMatchObject({ result: 'refused', error: { name: 'ActionRefused' } });
  });

  it('a dry run exits 0 and changes nothing', async () => {
    const r = await cim(['down', '--customer', 'alpha', '--env', 'dev', '--dry-run', '--json'], {});
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).output.plan).toContainEqual({
      kind: 'scale',
      namespace: 'alpha-dev',
      deployment: 'backend-deployment',
      from: 2,
      to: 0,
    });
    expect(await replicas('alpha-dev', 'backend-deployment')).toBe(2);
    expect(await keys(P)).toEqual([]);
  });
});
