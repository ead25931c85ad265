import { describe, expect, it } from 'vitest';
import { cases, runCase } from './fault-matrix.ts';

const { cases: all } = await cases(['down that fails', 'dry run']);

describe('fault matrix: failure recording and dry run', () => {
  it('reaches Record failure and Plan dry run', () => {
    expect(all.map((c) => c.state)).toEqual(expect.arrayContaining(['Record failure', 'Plan dry run']));
  });
  it.each(all.map((c) => [c.scenario.name, c.state, c.after, c.mode, c] as const))(
    '%s: %s, after side effect %i, %s: the next down/up restores the original counts',
    async (_n, _s, _a, _m, c) => runCase(c),
  );
});
