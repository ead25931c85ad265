import { describe, expect, it } from 'vitest';
import {
  actionFromLegacy,
  actionToLegacy,
  lastChangeOf,
  stateFromLegacy,
  stateToLegacy,
} from '#core/records/legacy-state';
import { fixtureJson } from '../../../support/world.ts';

describe('legacy state records', () => {
  it.each(['legacy-pre-state-build-10.json', 'legacy-state-down.json'])(
    'reads %s and writes it back byte for byte',
    (name) => {
      const legacy = fixtureJson(name);
      const state = stateFromLegacy(legacy, name);
      expect(JSON.stringify(stateToLegacy(state), null, 2)).toBe(JSON.stringify(legacy, null, 2));
    },
  );

  it('reads the counts the up restores', () => {
    const s = stateFromLegacy(fixtureJson('legacy-pre-state-build-10.json'), 'k');
    expect(Object.fromEntries(s.deployments.map((d) => [d.name, d.replicas]))).toEqual({
      'frontend-deployment': 1,
      'backend-deployment': 2,
    });
    expect(s.build).toBe('10');
  });

  it('refuses a record of the wrong shape, naming the key and the field', () => {
    expect(() => stateFromLegacy({ k8s_deployments: {} }, 'a/b/pre-state.json')).toThrow(
      /"a\/b\/pre-state\.json" is not a valid record .*aws_rds/,
    );
  });
});

describe('action records', () => {
  const legacy = fixtureJson('legacy-actions-build-10.json');

  it('keeps the legacy fields and order, new fields only added', () => {
    const rec = actionFromLegacy(legacy, 'k');
    expect(actionToLegacy(rec)).toEqual(legacy);
    const written = actionToLegacy({ ...rec, result: 'succeeded', executionId: 'x' });
    expect(Object.keys(written).slice(0, 6)).toEqual(Object.keys(legacy));
  });

  it('treats a legacy up/down record as its own last change, and a legacy get_env_state as none', () => {
    expect(lastChangeOf(actionFromLegacy(legacy, 'k'))).toEqual({
      action: 'down',
      build: '10',
      result: 'succeeded',
      restorePointBuild: '10',
    });
    expect(lastChangeOf(actionFromLegacy({ ...legacy, desired_state: 'get_env_state' }, 'k'))).toBeNull();
  });

  it('accepts a numeric build from old records', () => {
    expect(actionFromLegacy({ ...legacy, jenkins_build: 10 }, 'k').build).toBe('10');
  });
});
