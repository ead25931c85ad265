import { describe, expect, it } from 'vitest';
import { classifyChild, executionName, fleetExitCode, scheduledBuild } from '#core/fleet/fleet';

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
    expect(executionName('alpha', 'dev', 'down', '1.2')).toMatch(/^alpha-dev-down-1-2-[0-9a-f]{10}$/);
    const long = executionName('a'.repeat(60), 'dev', 'down', 'b'.repeat(60));
    expect(long).toHaveLength(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(long.startsWith('a'.repeat(60))).toBe(true);
  });

  it('gives distinct builds, actions and environments distinct names however long the names are', () => {
    const customer = 'a-very-long-customer-name-for-a-platform-team';
    const environment = 'preproduction-eu-central-1';
    const names = new Set<string>();
    for (let day = 1; day <= 28; day++) {
      const build = scheduledBuild(
        'weeknights-down-for-every-environment',
        `2026-11-${String(day).padStart(2, '0')}T19:00:00Z`,
      );
      for (const action of ['down', 'up']) names.add(executionName(customer, environment, action, build));
    }
    names.add(executionName(customer, `${environment}x`, 'down', 'b1'));
    names.add(executionName(customer, `${environment}y`, 'down', 'b1'));
    expect(names.size).toBe(28 * 2 + 2);
    for (const n of names) {
      expect(n.length).toBeLessThanOrEqual(80);
      expect(n).toMatch(/^[A-Za-z0-9_-]+$/);
      // The readable prefix starts with the customer: a console search by customer finds it.
      expect(n.startsWith(customer)).toBe(true);
    }
    // The same four parts give the same name: a duplicate start is recognised as one.
    expect(executionName('c', 'e', 'down', 'b')).toBe(executionName('c', 'e', 'down', 'b'));
    // "-" in a part cannot make two different part lists collide.
    expect(executionName('a-b', 'c', 'down', '1')).not.toBe(executionName('a', 'b-c', 'down', '1'));
  });

  it('keeps the tick of a scheduled build whole for long schedule names, so days never collide', () => {
    const name = 's'.repeat(64);
    const a = scheduledBuild(name, '2026-11-26T19:00:00Z');
    const b = scheduledBuild(name, '2026-11-27T19:00:00Z');
    expect(a).not.toBe(b);
    expect(a).toMatch(/-20261126T1900Z$/);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(scheduledBuild(`${'s'.repeat(63)}x`, '2026-11-26T19:00:00Z')).not.toBe(a);
    expect(a).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
  });

  it('reports a child whose name already exists (AWS keeps names 90 days) as refused, with what to do', () => {
    const o = classifyChild({
      customer: 'a',
      environment: 'dev',
      error: {
        Error: 'StepFunctions.ExecutionAlreadyExistsException',
        Cause: 'Execution Already Exists: arn:aws:states:eu-west-1:1:execution:cim:a-dev-down-7-0123456789',
      },
    });
    expect(o).toMatchObject({ result: 'refused', exitCode: 2, error: { name: 'BuildAlreadyRecorded' } });
    expect(o.error?.message).toMatch(/already exists.*new build id/s);
  });
});
