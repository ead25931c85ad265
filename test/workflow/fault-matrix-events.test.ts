import { describe, expect, it } from 'vitest';
import { cases, runCase } from './fault-matrix.ts';

const { cases: all } = await cases(['down with database events', 'up with database events']);

describe('fault matrix: event-driven database waits', () => {
  it('reaches every side effect of both database event waits', () => {
    expect(new Set(all.map((c) => c.state)).size).toBe(2);
  });
  it.each(all.map((c) => [c.state, c.after, c.mode, c] as const))(
    '%s, after side effect %i, %s: the next down/up restores the original counts',
    async (_s, _a, _m, c) => runCase(c),
  );
});
