import { describe, expect, it } from 'vitest';
import { checkPoints, MAX_WAIT_SECONDS, MIN_WAIT_SECONDS, nextWaitSeconds, pollStart } from '#core/waits';

/** Checks (the first at 0) until one sees a resource ready after `actual` seconds. */
function schedule(actual: number, expected: number, timeout: number): { checks: number; seenAt: number } {
  let elapsed = 0;
  let checks = 1;
  while (elapsed < actual) {
    elapsed += nextWaitSeconds(elapsed, expected, timeout);
    checks++;
  }
  return { checks, seenAt: elapsed };
}

describe('check schedule', () => {
  it('checks at the usual duration divided by powers of four, and at the usual duration', () => {
    expect(checkPoints(480)).toEqual([30, 120, 480]);
    expect(checkPoints(120)).toEqual([30, 120]);
    expect(checkPoints(30)).toEqual([30]);
    expect(nextWaitSeconds(0, 480, 3600)).toBe(30);
    expect(nextWaitSeconds(30, 480, 3600)).toBe(90);
    expect(nextWaitSeconds(120, 480, 3600)).toBe(360);
  });

  it('skips a check point closer than the shortest wait', () => {
    expect(nextWaitSeconds(27, 120, 900)).toBe(93);
    expect(nextWaitSeconds(118, 120, 900)).toBe(MIN_WAIT_SECONDS);
  });

  it('past the usual duration, waits as long as the overshoot so far, then a quarter of it or half the overshoot', () => {
    expect(nextWaitSeconds(480, 480, 3600)).toBe(MIN_WAIT_SECONDS);
    expect(nextWaitSeconds(500, 480, 3600)).toBe(20);
    expect(nextWaitSeconds(700, 480, 3600)).toBe(120);
    expect(nextWaitSeconds(900, 480, 3600)).toBe(210);
    expect(nextWaitSeconds(5000, 4000, 7200)).toBe(MAX_WAIT_SECONDS);
  });

  it('never waits past the deadline', () => {
    expect(nextWaitSeconds(3590, 480, 3600)).toBe(10);
  });

  it('sees a resource that is as fast as usual at once, with three waits for an 8-minute start', () => {
    expect(schedule(480, 480, 3600)).toEqual({ checks: 4, seenAt: 480 });
    expect(schedule(120, 120, 900)).toEqual({ checks: 3, seenAt: 120 });
  });

  it('sees a late resource within a quarter of the usual duration or half its lateness', () => {
    for (const actual of [500, 700, 1000, 1800]) {
      const { seenAt } = schedule(actual, 480, 3600);
      expect(seenAt - actual).toBeLessThanOrEqual(Math.max(120, (actual - 480) / 2));
    }
  });

  it('carries the start of a wait, and restarts for another resource', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    const prev = {
      what: 'database' as const,
      startedAt: '2026-01-01T00:00:00Z',
      checks: 3,
      state: 's',
      stable: false,
      elapsedSeconds: 0,
      waitSeconds: 5,
    };
    expect(pollStart(prev, 'database', now)).toEqual({ startedAt: new Date(prev.startedAt), checks: 3 });
    expect(pollStart(prev, 'deployments', now)).toEqual({ startedAt: now, checks: 0 });
  });
});
