import { describe, expect, it } from 'vitest';
import { cases, runCase, uncoveredTasks } from './fault-matrix.ts';

const { cases: all } = await cases(['down']);

describe('fault matrix: down', () => {
  it('reaches every side effect of every Task on the down path', () => {
    expect(all.length).toBeGreaterThan(40);
  });
  it.each(all.map((c) => [c.state, c.after, c.mode, c] as const))(
    '%s, after side effect %i, %s: the next down/up restores the original counts',
    async (_s, _a, _m, c) => runCase(c),
  );
});

describe('fault matrix coverage', () => {
  it('every Task state is reached by some scenario', async () => {
    expect(await uncoveredTasks()).toEqual([]);
  });
});
