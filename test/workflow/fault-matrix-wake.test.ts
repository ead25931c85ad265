import { describe, expect, it } from 'vitest';
import { Steps } from '#core/steps';
import { cases, runCase } from './fault-matrix.ts';

const { cases: all } = await cases(['wake', 'wake renewal']);

describe('fault matrix: a wake’s Tasks', () => {
  it('reaches every side effect of the wake’s Tasks, renewal included', () => {
    expect(new Set(all.map((c) => c.state))).toEqual(
      new Set([Steps.recordWake, Steps.scheduleWakeDown, Steps.renewWake, Steps.scheduleRenewedWakeDown]),
    );
    // Record wake: its claim and both ledgers, each a side effect to fault after.
    expect(Math.max(...all.filter((c) => c.state === Steps.recordWake).map((c) => c.after))).toBe(3);
  });
  it.each(all.map((c) => [c.scenario.name, c.state, c.after, c.mode, c] as const))(
    '%s: %s, after side effect %i, %s: the next down/up restores the counts, the wake counted once',
    async (_n, _s, _a, _m, c) => runCase(c),
  );
});
