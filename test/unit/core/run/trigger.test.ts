import { describe, expect, it } from 'vitest';
import { actionFromLegacy, actionToLegacy } from '#core/records/legacy-state';
import { triggerOf } from '#core/run/trigger';
import { fixtureJson } from '../../../support/world.ts';

describe('how a run was started', () => {
  it('is derived from what the request carries', () => {
    expect(triggerOf({ user: 'jenkins' })).toBe('cli');
    expect(triggerOf({ user: 'alice', startedByExecution: 'arn:aws:states:x:1:execution:fleet:a' })).toBe(
      'fleet',
    );
    // A schedule's fleet passes its user to every child: the schedule is what started it.
    expect(triggerOf({ user: 'schedule:nightly', startedByExecution: 'arn:fleet' })).toBe('schedule');
    expect(triggerOf({ user: 'guard:sweep' })).toBe('guard');
    expect(triggerOf({ user: 'guardian' })).toBe('cli');
    // A wake on demand's up, end and TTL down (cim wake).
    expect(triggerOf({ user: 'wake:alice' })).toBe('wake');
    expect(triggerOf({ user: 'wake:ttl:alice' })).toBe('wake');
    expect(triggerOf({ user: 'wakefield' })).toBe('cli');
  });

  it('is written last in the action record and read back; a legacy record has none (unknown)', () => {
    const legacy = fixtureJson('legacy-actions-build-10.json') as Record<string, unknown>;
    expect(actionFromLegacy(legacy, 'k').trigger).toBeUndefined();
    const rec = { ...actionFromLegacy(legacy, 'k'), trigger: 'schedule' as const };
    const written = actionToLegacy(rec);
    expect(Object.keys(written).at(-1)).toBe('trigger');
    expect(actionFromLegacy(written, 'k').trigger).toBe('schedule');
  });

  it('reads a trigger this version does not know as unknown, without refusing the record', () => {
    const legacy = fixtureJson('legacy-actions-build-10.json') as Record<string, unknown>;
    const rec = actionFromLegacy({ ...legacy, trigger: 'webhook' }, 'k');
    expect(rec.trigger).toBeUndefined();
    expect(rec.build).toBe('10');
  });
});
