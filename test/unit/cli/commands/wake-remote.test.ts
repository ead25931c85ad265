// `cim wake --remote` at the command line: the wake through the deployed environment workflow
// (S3 in memory, the Step Functions API mocked): it starts the one execution of the wake's up
// carrying the wake, a second wake joins it, a hold is refused with exit 2 and nothing
// started, and the forms that have no remote meaning (--extend, --sweep, --kubeconfig) are
// refused with exit 64 before anything is read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { ExitCode } from '#cli/exit-codes';
import { capture } from '../../../support/capture.ts';
import { fakeStepFunctions } from '../../../support/fake-sfn.ts';
import { memoryBucket } from '../../../support/memory-s3.ts';
import { fixtureJson } from '../../../support/world.ts';

const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:cim-environment';
const P = 'eks-dev-cluster/alpha/dev';
const ENV = ['--customer', 'alpha', '--env', 'dev'];

let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
let dir: string;
let config: string;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
  dir = mkdtempSync(join(tmpdir(), 'cim-wake-remote-'));
  config = join(dir, 'environments.yaml');
  writeFileSync(
    config,
    toYaml({
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'frontend-deployment' }],
      },
      environments: { 'alpha/dev': {} },
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let bucket: ReturnType<typeof memoryBucket>;
let sfn: AwsClientStub<SFNClient>;
let started: { name: string; input: Record<string, unknown> }[];
beforeEach(() => {
  bucket = memoryBucket();
  bucket.put(`${P}/actions.json`, fixtureJson('legacy-actions-build-10.json'));
  ({ sfn, started } = fakeStepFunctions(ARN));
});
afterEach(() => {
  vi.restoreAllMocks();
  sfn.restore();
  bucket.mock.restore();
});

const cim = (...argv: string[]) => main([...argv, '--config', config], {});

describe('cim wake --remote', () => {
  it('starts the deployed workflow’s up carrying the wake, and a second wake joins it', async () => {
    const io = capture();
    expect(
      await cim('wake', ...ENV, '--for', '90m', '--user', 'alice', '--remote', '--state-machine-arn', ARN),
    ).toBe(ExitCode.Done);
    expect(io.out()).toMatch(
      /^alpha\/dev: wake started \(build wake-10\): execution arn:aws:states:.*:execution:/m,
    );
    expect(started).toHaveLength(1);
    expect(started[0]?.input).toEqual({
      action: 'up',
      customer: 'alpha',
      environment: 'dev',
      build: 'wake-10',
      user: 'wake:alice',
      wake: { minutes: 90, source: 'cli', requester: { user: 'alice' } },
    });
    expect(await cim('wake', ...ENV, '--user', 'bob', '--remote', '--state-machine-arn', ARN, '--json')).toBe(
      ExitCode.Done,
    );
    expect(JSON.parse(io.out().split('\n').slice(1).join('\n'))).toMatchObject({
      environment: 'alpha/dev',
      outcome: 'joined',
      build: 'wake-10',
    });
    expect(started).toHaveLength(1);
    // The CLI wrote nothing: the workflow records the wake.
    expect(bucket.writes).toEqual([]);
  });

  it('refuses a wake the hold keeps asleep with exit 2, starting nothing', async () => {
    bucket.put(`${P}/hold.json`, {
      user: 'ops',
      reason: 'migration',
      created: new Date(Date.now() - 3600_000).toISOString(),
      until: new Date(Date.now() + 86_400_000).toISOString(),
      skip_next: null,
    });
    const io = capture();
    expect(await cim('wake', ...ENV, '--user', 'alice', '--remote', '--state-machine-arn', ARN)).toBe(
      ExitCode.Refused,
    );
    expect(io.err()).toMatch(/wake refused: .*hold wins over a wake\. Nothing was started\./);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('ends a wake with --end --remote: the down through the deployed workflow, followed, then the wake record removed', async () => {
    // Awake from a wake whose up (build wake-10) succeeded.
    bucket.put(`${P}/actions.json`, {
      ...fixtureJson('legacy-actions-build-10.json'),
      jenkins_build: 'wake-10',
      desired_state: 'up',
    });
    bucket.put(`${P}/wake.json`, {
      user: 'alice',
      created: new Date(Date.now() - 600_000).toISOString(),
      until: new Date(Date.now() + 3600_000).toISOString(),
      build: 'wake-10',
      woke_from: '10',
      source: 'cli',
    });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolves({ events: [{ id: 1, type: 'ExecutionSucceeded', timestamp: new Date() }] });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: '{}' });
    capture();
    expect(await cim('wake', ...ENV, '--end', '--user', 'bob', '--remote', '--state-machine-arn', ARN)).toBe(
      ExitCode.Done,
    );
    expect(started).toHaveLength(1);
    expect(started[0]?.input).toMatchObject({
      action: 'down',
      customer: 'alpha',
      environment: 'dev',
      user: 'wake:bob',
    });
    expect(bucket.json(`${P}/wake.json`)).toBeUndefined();
  });

  it.each([
    [['--extend', '1h'], /no --remote form/],
    [['--sweep'], /no --remote form/],
    [['--kubeconfig', 'k'], /--kubeconfig is for local runs/],
  ])('refuses wake %j with --remote (exit 64), reading nothing', async (extra, why) => {
    const io = capture();
    const args = extra[0] === '--sweep' ? ['wake', ...extra] : ['wake', ...ENV, ...extra];
    expect(await cim(...args, '--remote', '--state-machine-arn', ARN)).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(why);
    expect(sfn.calls()).toHaveLength(0);
  });
});
