import { describe, expect, it } from 'vitest';
import type { RunContext } from '#core/contracts';
import { actionFromLegacy } from '#core/records/legacy-state';
import { foldPoll, markPhase } from '#core/run/phase-times';
import { fixtureJson } from '../../../support/world.ts';

const at = (s: string) => new Date(`2026-12-01T${s}Z`);
const ctx = (extra: Partial<RunContext> = {}) =>
  ({
    request: {},
    preState: {},
    executionId: 'x',
    startedAt: '2026-12-01T20:00:00.000Z',
    ...extra,
  }) as RunContext;

describe('phase times in the run context', () => {
  it('a retried Task sets the same keys again from the same input: nothing duplicated', () => {
    const input = ctx();
    const first = markPhase('stop-database', input, at('20:01:00'), at('20:01:02')) as RunContext;
    const retry = markPhase('stop-database', input, at('20:01:05'), at('20:01:06')) as RunContext;
    expect(Object.keys(retry.phaseTimes ?? {})).toEqual(Object.keys(first.phaseTimes ?? {}));
    expect(retry.phaseTimes).toEqual({
      databaseStarted: '2026-12-01T20:01:05Z',
      databaseEnded: '2026-12-01T20:01:06Z',
    });
  });

  it('a phase starts at its first Task and ends at its last; a start never moves later', () => {
    let c = markPhase('scale-down', ctx(), at('20:00:10'), at('20:00:12')) as RunContext;
    c = markPhase('scale-statefulsets-down', c, at('20:00:40'), at('20:00:41')) as RunContext;
    expect(c.phaseTimes).toEqual({
      workloadsStarted: '2026-12-01T20:00:10Z',
      workloadsEnded: '2026-12-01T20:00:41Z',
    });
  });

  it('folds in the end of a Wait loop from the check that saw it done, once', () => {
    const poll = {
      what: 'database' as const,
      startedAt: '2026-12-01T20:01:00.000Z',
      checks: 4,
      state: 'stopped',
      stable: true,
      elapsedSeconds: 300,
      waitSeconds: 0,
    };
    const c = foldPoll(ctx({ poll, phaseTimes: { databaseStarted: '2026-12-01T20:01:00Z' } }));
    expect(c.phaseTimes?.databaseEnded).toBe('2026-12-01T20:06:00Z');
    expect(foldPoll(c)).toBe(c);
    // A loop still waiting ends nothing.
    expect(foldPoll(ctx({ poll: { ...poll, stable: false } })).phaseTimes).toBeUndefined();
  });

  it('leaves the output of a Task that is no phase, or that is not a context, as it is', () => {
    const out = { result: 'succeeded' };
    expect(markPhase('stop-database', out, at('20:00:00'), at('20:00:01'))).toBe(out);
    const c = ctx();
    expect(markPhase('record-intent', c, at('20:00:00'), at('20:00:01'))).toBe(c);
  });
});

describe('phase times in an action record', () => {
  const legacy = fixtureJson('legacy-actions-build-10.json') as Record<string, unknown>;

  it('a legacy record has none', () => {
    expect(actionFromLegacy(legacy, 'k').phaseTimes).toBeUndefined();
  });

  it('a malformed or impossible phase_times reads as unknown without refusing the record', () => {
    for (const bad of [
      { run_started: 'yesterday' },
      { run_started: '2026-12-01T20:00:00Z', run_ended: '2026-12-01T19:00:00Z' },
      { database_started: '2026-13-45T99:00:00Z' },
      'soon',
    ]) {
      const rec = actionFromLegacy({ ...legacy, phase_times: bad }, 'k');
      expect(rec.phaseTimes, JSON.stringify(bad)).toBeUndefined();
      expect(rec.build).toBe('10');
    }
    expect(
      actionFromLegacy({ ...legacy, phase_times: { run_started: '2026-12-01T20:00:00Z' } }, 'k').phaseTimes,
    ).toEqual({ run_started: '2026-12-01T20:00:00Z' });
  });
});
