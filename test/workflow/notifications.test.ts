// Notifications, published through SNS (aws-sdk-client-mock) by the real handlers on the
// local engine: a failed run, a guard re-stop, a fleet run with failures; nothing for a
// run that succeeds; a topic that cannot be reached never fails the run.
import { RDSServiceException, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noRetryWaits } from '#cli/engine/local-environment';
import { runFleetLocal } from '#cli/engine/local-fleet';
import { runGuardLocal } from '#cli/engine/local-guard';
import { snsNotifier } from '#core/clients/sns';
import { WaitSteps } from '#core/steps';
import { runWorkflow, warmUp } from '../support/run-workflow.ts';
import { makeWorld, type World } from '../support/world.ts';

// The first run synthesizes the stack: outside the tests' 30 s, which a loaded machine can exceed.
beforeAll(warmUp, 180_000);

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:cim-notifications';
const EXEC = 'arn:aws:states:us-east-1:123456789012:execution:customer-infra-manager-Cim:alpha-dev-down-10';
let w: World;
const sns = mockClient(SNSClient);
beforeEach(() => {
  w = makeWorld();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  w.deps.notify = snsNotifier(new SNSClient({ region: 'us-east-1' }), TOPIC);
});
afterEach(() => w.restore());

const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
const stopFails = () =>
  w.rds.on(StopDBInstanceCommand).rejects(
    new RDSServiceException({
      name: 'InvalidParameterCombination',
      $fault: 'client',
      $metadata: {},
      message: 'the instance is a read replica',
    }),
  );

describe('notifications', () => {
  it('announce a failed run with environment, action, build, error and the console link', async () => {
    stopFails();
    const run = await runWorkflow(w, { action: 'down', build: '10' }, { executionId: EXEC });
    expect(run.status).toBe('FAILED');
    expect(published()).toHaveLength(1);
    const [p] = published();
    expect(p?.TopicArn).toBe(TOPIC);
    expect(p?.Subject).toBe('cim: down alpha/dev FAILED (build 10)');
    expect(p?.Message).toBe(
      [
        'down of alpha/dev FAILED (build 10).',
        'Error: DatabaseActionFailed in "Stop database": Stop database: stop RDS instance \'alpha-dev-rds\' failed: InvalidParameterCombination: the instance is a read replica',
        'Lock: released.',
        `Execution: https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${EXEC}`,
        'Next: cim status --customer alpha --env dev, then run down again.',
      ].join('\n'),
    );
  });

  it('say nothing when the run succeeds', async () => {
    const run = await runWorkflow(w, { action: 'down', build: '10' });
    expect(run.status).toBe('SUCCEEDED');
    expect(published()).toEqual([]);
  });

  it('never fail the run when the topic cannot be reached', async () => {
    sns.on(PublishCommand).rejects(new Error('AuthorizationError'));
    stopFails();
    const run = await runWorkflow(w, { action: 'down', build: '10' });
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('DatabaseActionFailed');
    expect(w.warnings).toContain('notification not sent');
  });

  it('announce a guard re-stop', async () => {
    expect((await runWorkflow(w, { action: 'down', build: '10' })).status).toBe('SUCCEEDED');
    w.scriptDb(['available', 'available', 'stopped']);
    const run = await runGuardLocal({ deps: w.deps, input: { customer: 'alpha', environment: 'dev' } });
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    const [p] = published();
    expect(p?.Subject).toBe('cim: re-stopped the database of alpha/dev');
    expect(p?.Message).toMatch(
      /^RDS instance 'alpha-dev-rds' of alpha\/dev had started again \(manual; it was 'available'\) while the environment is down since build 10\.\nThe seven-day guard stopped it again and recorded it in s3:\/\/customer-infra-manager\/eks-dev-cluster\/alpha\/dev\/history\/guard-[^/]+\/keep-stopped\.json\.\nExecution: /,
    );
  });

  it('announce a fleet run with failures, naming each failed environment', async () => {
    stopFails();
    const run = await runFleetLocal({
      deps: w.deps,
      input: { action: 'down', selection: 'alpha/dev,beta/staging', user: 'jenkins', build: '42' },
      waitOverrides: Object.fromEntries(WaitSteps.map((s) => [s, 0])),
      retryOverrides: noRetryWaits(),
    });
    expect(run.summary?.counts.failed).toBe(1);
    const fleet = published().find((p) => p.Subject?.startsWith('cim: fleet'));
    expect(fleet?.Subject).toBe('cim: fleet down build 42: 1 failed');
    expect(fleet?.Message).toContain(
      'Fleet down (build 42, jenkins): 1 succeeded, 0 skipped, 0 refused, 1 failed.',
    );
    expect(fleet?.Message).toMatch(/\n- alpha\/dev: DatabaseActionFailed: /);
    expect(fleet?.Message).toContain('Summary: s3://customer-infra-manager/fleet/history/42/summary.json');
  });
});
