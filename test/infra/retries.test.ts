// Issue 15 item 3: every Lambda Task of the three workflows retries throttling (Lambda's and
// the services') with full jitter and a maximum delay, from one policy; the SDK's attempts
// times the Task's attempts stay bounded; the local engine runs the same Retry fields.
import { EKSClient } from '@aws-sdk/client-eks';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { AWS_SDK_MAX_ATTEMPTS, ErrorNames, THROTTLING_ERRORS } from '#core/errors';
import { Steps } from '#core/steps';
import { renderDefinition } from '#infra/workflows/environment';
import { renderFleetDefinition } from '#infra/workflows/fleet';
import { renderGuardDefinition } from '#infra/workflows/guard';
import { renderLocal } from '#infra/workflows/render-local';
import { addTaskRetries, retryDelayBoundSeconds, TASK_RETRIES } from '#infra/workflows/states';
import { synthesizedDefinition } from '../support/synthesized.ts';

type Asl = { States: Record<string, any> };

/** Every Task state, Map item processors included. */
function tasks(asl: Asl): [string, any][] {
  return Object.entries(asl.States).flatMap(([name, s]) => [
    ...(s.Type === 'Task' ? [[name, s] as [string, any]] : []),
    ...(s.ItemProcessor ? tasks(s.ItemProcessor) : s.Iterator ? tasks(s.Iterator) : []),
  ]);
}

const lambdaTasks = (asl: Asl) =>
  tasks(asl).filter(
    ([, s]) => !String(JSON.stringify(s.Resource)).includes(':states:::states:startExecution'),
  );

const definitions: [string, Asl][] = [
  ['environment (local)', renderDefinition() as Asl],
  ['environment (stack)', synthesizedDefinition() as Asl],
  ['fleet', renderFleetDefinition() as Asl],
  ['guard', renderGuardDefinition() as Asl],
];

const THROTTLES = ['Lambda.TooManyRequestsException', ErrorNames.TransientAwsError, ...THROTTLING_ERRORS];

describe('the Task retry policy', () => {
  it.each(definitions)('%s: every Lambda Task retries with full jitter and a maximum delay', (_, asl) => {
    const found = lambdaTasks(asl);
    expect(found.length).toBeGreaterThan(1);
    for (const [name, s] of found) {
      expect(s.Retry.length, name).toBeGreaterThan(0);
      for (const r of s.Retry) {
        expect(r.JitterStrategy, name).toBe('FULL');
        expect(r.MaxDelaySeconds, name).toBeGreaterThan(0);
        expect(r.MaxDelaySeconds, name).toBeLessThanOrEqual(60);
        expect(r.ErrorEquals, name).not.toContain('States.ALL');
      }
      const retried = s.Retry.flatMap((r: any) => r.ErrorEquals);
      // Lambda's own throttle and service errors everywhere, Record failure included.
      expect(retried, name).toEqual(
        expect.arrayContaining(['Lambda.TooManyRequestsException', 'Lambda.ServiceException']),
      );
      // No error in two retriers: the first match would hide the second's attempts.
      expect(new Set(retried).size, name).toBe(retried.length);
      if (name === Steps.recordFailure) continue;
      expect(retried, name).toEqual(expect.arrayContaining(THROTTLES));
      const throttled = s.Retry.find((r: any) => r.ErrorEquals.includes('ThrottlingException'));
      expect(throttled, name).toMatchObject({
        ErrorEquals: THROTTLES,
        IntervalSeconds: 2,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        MaxAttempts: 8,
        JitterStrategy: 'FULL',
      });
    }
  });

  it('gives throttling more attempts than any other error, within bounds the design states', () => {
    expect(TASK_RETRIES.throttled.maxAttempts).toBeGreaterThan(TASK_RETRIES.transient.maxAttempts);
    expect(TASK_RETRIES.throttled.maxAttempts).toBeGreaterThan(TASK_RETRIES.lambda.maxAttempts);
    // The longest a Task waits between attempts in all (every jittered wait at its maximum).
    expect(retryDelayBoundSeconds(TASK_RETRIES.throttled)).toBe(242);
    expect(retryDelayBoundSeconds(TASK_RETRIES.transient)).toBe(60);
    expect(retryDelayBoundSeconds(TASK_RETRIES.lambda)).toBe(90);
    // Requests of one throttled API call per Task: the SDK's attempts x the Task's attempts.
    expect(AWS_SDK_MAX_ATTEMPTS * (1 + TASK_RETRIES.throttled.maxAttempts)).toBe(27);
  });

  it('multiplies the SDK attempts every client really uses (the default the bound counts)', async () => {
    for (const client of [
      new S3Client({ region: 'us-east-1' }),
      new RDSClient({ region: 'us-east-1' }),
      new EKSClient({ region: 'us-east-1' }),
      new STSClient({ region: 'us-east-1' }),
    ]) {
      expect(await client.config.maxAttempts(), client.constructor.name).toBe(AWS_SDK_MAX_ATTEMPTS);
      client.destroy();
    }
  });
});

describe('the local engine', () => {
  const oneTask = () =>
    renderLocal('RetryProbe', ['probe'] as const, 'probe', (stack, fns) =>
      addTaskRetries(
        new LambdaInvoke(stack, 'Probe', {
          lambdaFunction: fns.probe,
          payloadResponseOnly: true,
          retryOnServiceExceptions: false,
        }),
      ),
    );

  const run = async (failures: number, name: string) => {
    let calls = 0;
    const machine = new StateMachine(oneTask() as never);
    const execution = machine.run(
      {},
      {
        overrides: {
          taskResourceLocalHandlers: {
            Probe: async () => {
              calls++;
              if (calls <= failures) throw Object.assign(new Error('slow down'), { name });
              return { calls };
            },
          },
          retryIntervalOverrides: { Probe: 0 },
        },
      },
    );
    const result = await execution.result.then(
      (output) => ({ output }),
      (err: Error) => ({ error: err }),
    );
    return { calls, ...result };
  };

  it('accepts MaxDelaySeconds and JitterStrategy and retries a throttled Task until it succeeds', async () => {
    const def = oneTask() as Asl;
    expect(def.States.Probe.Retry[0]).toMatchObject({ MaxDelaySeconds: 60, JitterStrategy: 'FULL' });
    const r = await run(8, 'ThrottlingException');
    expect(r).toEqual({ calls: 9, output: { calls: 9 } });
  });

  it('gives up after the throttled retrier is spent, and never retries an error of the code', async () => {
    const spent = await run(9, 'SlowDown');
    expect(spent.calls).toBe(9);
    expect(spent).toHaveProperty('error');
    const refusal = await run(1, ErrorNames.EnvironmentLocked);
    expect(refusal.calls).toBe(1);
  });
});
