import { describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import { closestNames } from '#core/config/did-you-mean';
import { labelKeyError, matchesLabels, parseLabelSelector } from '#core/config/label-selector';
import type { Config } from '#core/config/schema';
import {
  parseSelection,
  parseSelectionArg,
  type Selection,
  selectEnvironments,
} from '#core/config/selection';

const config: Config = parseConfig(
  {
    defaults: {
      cluster: 'eks-dev-cluster',
      region: 'us-east-1',
      bucket: 'customer-infra-manager',
      deployments: [{ name: 'web' }],
      labels: { tier: 'dev' },
    },
    environments: {
      'alpha/dev': { labels: { team: 'payments' } },
      'alpha/prod': { labels: { tier: 'prod', team: 'payments' } },
      'beta/dev': { labels: { team: 'search' } },
      'beta/staging': { labels: { tier: 'staging' } },
      'cust0001/dev': {},
      'cust0002/dev': { labels: { frozen: '' } },
    },
  },
  'env.yaml',
);
const select = (sel: Partial<Selection>) =>
  selectEnvironments(config, { patterns: [], labels: null, ...sel }, 'env.yaml');
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

describe('command-line selections', () => {
  it.each([
    ['tier=dev,team!=payments', [], 'tier=dev,team!=payments'],
    ['*/dev', ['*/dev'], null],
    ['alpha/dev,beta/staging', ['alpha/dev', 'beta/staging'], null],
    ['alpha/dev beta/staging', ['alpha/dev', 'beta/staging'], null],
    ['alpha/* tier in (dev, staging), !frozen', ['alpha/*'], 'tier in (dev, staging),!frozen'],
    ['team notin(payments) cust0*/dev', ['cust0*/dev'], 'team notin(payments)'],
    ['  *  ', ['*'], null],
  ])('reads %j', (arg, patterns, labels) => {
    expect(parseSelectionArg(arg)).toEqual({ patterns, labels });
  });

  it.each([
    ['', 'the selection is empty (at position 1)'],
    [' , ', 'the selection is empty'],
    ['tier in (dev', '"(" is not closed by ")" (at position 9)'],
    ['tier = dev', 'expected a label key, found "=" in "=" (at position 6)'],
    ['alpha/dev,Beta/dev', '"Beta/dev" is not an environment key or glob'],
  ])('refuses %j, naming the position', (arg, reason) => {
    const err = thrown(() => parseSelectionArg(arg));
    expect(err.name).toBe('SelectionInvalid');
    expect(err.message).toContain(`selection "${arg}": ${reason}`);
    expect(err.message).toContain('"tier=dev,team!=payments", "*/dev" or "alpha/dev,beta/staging"');
  });

  it('accepts an empty label value, as Kubernetes does', () => {
    expect(parseSelectionArg('tier=dev,team!=').labels).toBe('tier=dev,team!=');
  });

  it('checks patterns and selectors given separately', () => {
    expect(parseSelection({ patterns: ['alpha/*', 'alpha/*'], labels: 'tier=dev' })).toEqual({
      patterns: ['alpha/*'],
      labels: 'tier=dev',
    });
    expect(parseSelection({})).toEqual({ patterns: [], labels: null });
    expect(thrown(() => parseSelection({ labels: 'tier in' })).name).toBe('SelectionInvalid');
    expect(thrown(() => parseSelection({ patterns: ['alpha dev'] })).message).toContain(
      '"alpha dev" is not an environment key or glob',
    );
  });
});

describe('selecting environments', () => {
  it('selects every environment when there are no patterns and no labels', () => {
    expect(select({})).toEqual([
      'alpha/dev',
      'alpha/prod',
      'beta/dev',
      'beta/staging',
      'cust0001/dev',
      'cust0002/dev',
    ]);
  });

  it.each([
    [['*/dev'], ['alpha/dev', 'beta/dev', 'cust0001/dev', 'cust0002/dev']],
    [['alpha/*'], ['alpha/dev', 'alpha/prod']],
    [['cust0*/dev'], ['cust0001/dev', 'cust0002/dev']],
    [['*'], ['alpha/dev', 'alpha/prod', 'beta/dev', 'beta/staging', 'cust0001/dev', 'cust0002/dev']],
    [
      ['beta/staging', 'alpha/dev', 'alpha/*'],
      ['alpha/dev', 'alpha/prod', 'beta/staging'],
    ],
  ])('ORs the patterns %j and sorts the keys', (patterns, keys) => {
    expect(select({ patterns })).toEqual(keys);
  });

  it.each([
    ['tier=dev', ['alpha/dev', 'beta/dev', 'cust0001/dev', 'cust0002/dev']],
    ['tier=dev,team!=payments', ['beta/dev', 'cust0001/dev', 'cust0002/dev']],
    ['tier in (prod,staging)', ['alpha/prod', 'beta/staging']],
    ['tier notin (dev), team', ['alpha/prod']],
    ['frozen', ['cust0002/dev']],
    ['!team,!frozen', ['beta/staging', 'cust0001/dev']],
  ])('filters by the labels %j, defaults merged under each environment', (labels, keys) => {
    expect(select({ labels })).toEqual(keys);
  });

  it('ANDs the patterns with the labels', () => {
    expect(select(parseSelectionArg('alpha/*,beta/dev team=payments'))).toEqual(['alpha/dev', 'alpha/prod']);
  });

  it('refuses an unknown key with the closest few', () => {
    const err = thrown(() => select({ patterns: ['alpha/prd'] }));
    expect(err.name).toBe('SelectionInvalid');
    expect(err.message).toBe(
      'environment "alpha/prd" not found in env.yaml (did you mean alpha/prod, alpha/dev, beta/dev?)',
    );
  });

  it('explains that a bare word is a key, not a label', () => {
    expect(thrown(() => select(parseSelectionArg('tier'))).message).toContain(
      'keys are "customer/environment", and label requirements look like "tier=dev"',
    );
  });

  it('refuses a glob that matches nothing', () => {
    expect(thrown(() => select({ patterns: ['alpha/dev', 'zeta/*'] })).message).toBe(
      'pattern "zeta/*" matches no environment in env.yaml (6 configured, e.g. alpha/dev, alpha/prod)',
    );
  });

  it('refuses a selection that matches no environment', () => {
    const err = thrown(() => select(parseSelectionArg('*/dev,tier=prod')));
    expect(err.name).toBe('SelectionInvalid');
    expect(err.message).toBe(
      'selection "*/dev,tier=prod" matches no environment in env.yaml: 4 environment(s) match */dev, and none has labels matching "tier=prod". Check "labels" under "environments" and "defaults".',
    );
  });
});

describe('suggestions', () => {
  it('names at most three, closest first', () => {
    expect(
      closestNames('cust0042/dve', [
        'cust0042/dev',
        'cust0043/dev',
        'cust0042/prod',
        'cust0142/dev',
        'zeta/qa',
      ]),
    ).toEqual(['cust0042/dev', 'cust0043/dev', 'cust0142/dev']);
    expect(closestNames('x', [])).toEqual([]);
  });
});
