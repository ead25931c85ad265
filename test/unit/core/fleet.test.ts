import { describe, expect, it } from 'vitest';
import { classifyChild, executionName, fleetExitCode, scheduledBuild } from '#core/fleet';

const failed = (name: string) => ({
  customer: 'a',
  environment: 'dev',
  error: {
    Error: 'States.TaskFailed',
    Cause: JSON.stringify({
      ExecutionArn: 'arn:x',
      StartDate: 1000,
      StopDate: 3500,
      Error: name,
      Cause: `Prepare: ${name} happened`,
    }),
  },
});

describe('fleet', () => {
  it('classifies a child by the error of its execution: already there is skipped, other refusals refused', () => {
    expect(
      classifyChild({
        customer: 'a',
        environment: 'dev',
        run: { executionArn: 'arn:y', startDate: 0, stopDate: 1500 },
      }),
    ).toEqual({
      environment: 'a/dev',
      result: 'succeeded',
      exitCode: 0,
      executionArn: 'arn:y',
      durationSeconds: 1.5,
    });
    expect(classifyChild(failed('ActionRefused'))).toMatchObject({
      result: 'skipped',
      exitCode: 2,
      durationSeconds: 2.5,
    });
    expect(classifyChild(failed('EnvironmentLocked'))).toMatchObject({ result: 'refused', exitCode: 2 });
    expect(classifyChild(failed('PreflightFailed'))).toMatchObject({ result: 'refused', exitCode: 64 });
    expect(classifyChild(failed('DatabaseErrorState'))).toMatchObject({
      result: 'failed',
      exitCode: 1,
      executionArn: 'arn:x',
      error: { name: 'DatabaseErrorState', message: 'Prepare: DatabaseErrorState happened' },
    });
    expect(classifyChild(failed('Interrupted'))).toMatchObject({ result: 'failed', exitCode: 130 });
    // The start itself failed (no child description in the cause).
    expect(
      classifyChild({
        customer: 'a',
        environment: 'dev',
        error: { Error: 'StepFunctions.ExecutionLimitExceeded', Cause: 'too many' },
      }),
    ).toMatchObject({
      result: 'failed',
      executionArn: null,
      error: { name: 'StepFunctions.ExecutionLimitExceeded' },
    });
  });

  it('exits 0 when all succeeded or were skipped, 1 when any failed, 2 when any was refused', () => {
    const counts = (succeeded: number, skipped: number, refused: number, failed: number) => ({
      counts: { succeeded, skipped, refused, failed },
    });
    expect(fleetExitCode(counts(3, 2, 0, 0))).toBe(0);
    expect(fleetExitCode(counts(3, 0, 1, 1))).toBe(1);
    expect(fleetExitCode(counts(3, 0, 1, 0))).toBe(2);
    expect(fleetExitCode(counts(0, 0, 4, 0))).toBe(2);
  });

  it('derives a scheduled build from the tick, the same for a duplicate delivery', () => {
    expect(scheduledBuild('weeknights-down', '2026-11-26T19:00:00Z')).toBe('weeknights-down-20261126T1900Z');
    expect(scheduledBuild('weeknights-down', '2026-11-26T19:00:00.000Z')).toBe(
      'weeknights-down-20261126T1900Z',
    );
    expect(() => scheduledBuild('x', 'yesterday')).toThrow(/not a timestamp/);
  });

  it('names child executions within the Step Functions rules (80 characters of [A-Za-z0-9-_])', () => {
    expect(executionName('alpha', 'dev', 'down', '1.2')).toBe('alpha-dev-down-1-2');
    expect(executionName('a'.repeat(60), 'dev', 'down', 'b'.repeat(60))).toHaveLength(80);
  });
});
