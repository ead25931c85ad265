import { describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
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
