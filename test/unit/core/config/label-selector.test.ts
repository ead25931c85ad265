import { describe, expect, it } from 'vitest';
import {
  labelKeyError,
  matchesLabels,
  parseLabelSelector,
  selectorSyntaxIssue,
} from '#core/config/label-selector';

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
};

describe('label selectors', () => {
  it('parses every requirement form', () => {
    expect(parseLabelSelector('a=1, b==2 ,c!=3,d,!e,f in (x, y),g notin(z)')).toEqual([
      { key: 'a', op: 'eq', value: '1' },
      { key: 'b', op: 'eq', value: '2' },
      { key: 'c', op: 'ne', value: '3' },
      { key: 'd', op: 'exists' },
      { key: 'e', op: 'absent' },
      { key: 'f', op: 'in', values: ['x', 'y'] },
      { key: 'g', op: 'notin', values: ['z'] },
    ]);
  });

  it('accepts prefixed keys and an empty value', () => {
    expect(parseLabelSelector('example.com/team=core,paused=')).toEqual([
      { key: 'example.com/team', op: 'eq', value: 'core' },
      { key: 'paused', op: 'eq', value: '' },
    ]);
  });

  it.each([
    ['', 'the selector is empty (at position 1)'],
    ['tier=dev,', 'a "," must be followed by a requirement (at position 9)'],
    ['tier=dev,,team=x', 'expected a label key, found "," (at position 10)'],
    ['tier in dev', 'expected "(" after "in", found "dev" (at position 9)'],
    ['tier in (dev', 'expected "," or ")" in the value list, found the end (at position 13)'],
    ['tier in ()', 'expected a label value, found ")" (at position 10)'],
    [
      'tier dev',
      'expected "=", "!=", "in", "notin", "," or the end after key "tier", found "dev" (at position 6)',
    ],
    ['tier=dev team=x', 'expected "," between requirements, found "team" (at position 10)'],
    ['=dev', 'expected a label key, found "=" (at position 1)'],
    ['tier=dev!', 'expected "," between requirements, found "!" (at position 9)'],
    ['Bad Key=x', 'expected "=", "!=", "in", "notin", "," or the end after key "Bad"'],
    ['tier=-dev', 'label value "-dev" must be empty or 1-63 letters'],
    ['-tier=dev', 'label key "-tier": the name must be'],
  ])('refuses %j, naming the position and showing an example', (selector, reason) => {
    const err = thrown(() => parseLabelSelector(selector));
    expect(err.name).toBe('SelectionInvalid');
    expect(err.message).toContain(`label selector "${selector}": ${reason}`);
    expect(err.message).toContain('write e.g. "tier=dev,team!=payments"');
  });

  it('matches like Kubernetes: != and notin also match a missing label', () => {
    const labels = { tier: 'dev', team: 'payments' };
    const m = (s: string, l: Record<string, string> = labels) => matchesLabels(parseLabelSelector(s), l);
    expect(m('tier=dev')).toBe(true);
    expect(m('tier==prod')).toBe(false);
    expect(m('team!=payments')).toBe(false);
    expect(m('owner!=me')).toBe(true);
    expect(m('tier')).toBe(true);
    expect(m('!tier')).toBe(false);
    expect(m('!owner')).toBe(true);
    expect(m('tier in (dev,staging)')).toBe(true);
    expect(m('owner in (me)')).toBe(false);
    expect(m('tier notin (dev)')).toBe(false);
    expect(m('owner notin (me)')).toBe(true);
    expect(m('tier=dev,team=search')).toBe(false);
  });

  it('bounds the key prefix at 253 characters', () => {
    expect(labelKeyError(`${'a'.repeat(250)}.com/team`)).toContain('at most 253 characters');
    expect(labelKeyError(`${'a'.repeat(240)}.com/team`)).toBeNull();
  });
});

describe('syntax issues for callers that word their own message', () => {
  it('gives the reason and the 0-based offset of the first issue', () => {
    expect(selectorSyntaxIssue('tier=dev team=x')).toEqual({
      reason: 'expected "," between requirements, found "team"',
      at: 9,
    });
  });

  it('gives null for a valid selector', () => {
    expect(selectorSyntaxIssue('tier in (dev,staging),!frozen')).toBeNull();
  });
});
