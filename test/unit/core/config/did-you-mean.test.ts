import { describe, expect, it } from 'vitest';
import { closestNames, unknownEnvironmentMessage } from '#core/config/did-you-mean';

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

  it('names the source and the closest keys when an environment is unknown', () => {
    expect(
      unknownEnvironmentMessage('alpha/dve', ['alpha/dev', 'beta/dev', 'alpha/prod', 'zeta/qa'], 'env.yaml'),
    ).toBe('environment "alpha/dve" not found in env.yaml (did you mean alpha/dev, alpha/prod, beta/dev?)');
  });

  it('suggests nothing when no environment is known', () => {
    expect(unknownEnvironmentMessage('alpha/dev', [], 'env.yaml')).toBe(
      'environment "alpha/dev" not found in env.yaml',
    );
  });
});
