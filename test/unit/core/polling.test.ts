import { describe, expect, it } from 'vitest';
import { MAX_WAIT_SECONDS, MIN_WAIT_SECONDS, nextWaitSeconds, pollStart } from '#core/polling';

/** Polls until `actual` seconds have passed; returns how many checks it took. */
function checksUntil(actual: number, expected: number, timeout: number): number {
  let elapsed = 0;
  let checks = 1;
  while (elapsed < actual) {
    elapsed += nextWaitSeconds(elapsed, expected, timeout);
    checks++;
  }
  return checks;
}

describe('adaptive waits', () => {
  it('halves the distance to the usual duration', () => {
    expect(nextWaitSeconds(0, 480, 3600)).toBe(240);
    expect(nextWaitSeconds(240, 480, 3600)).toBe(120);
    expect(nextWaitSeconds(470, 480, 3600)).toBe(MIN_WAIT_SECONDS);
  });

  it('backs off past the usual duration, within bounds', () => {
    expect(nextWaitSeconds(478, 480, 3600)).toBe(MIN_WAIT_SECONDS);
    expect(nextWaitSeconds(600, 480, 3600)).toBe(60);
    expect(nextWaitSeconds(3000, 480, 7200)).toBe(MAX_WAIT_SECONDS);
  });

  it('never waits past the deadline', () => {
    expect(nextWaitSeconds(3590, 480, 3600)).toBe(10);
  });

  it('takes far fewer checks than a fixed 15 s poll for an 8-minute start', () => {
    expect(checksUntil(480, 480, 3600)).toBeLessThanOrEqual(9);
    expect(checksUntil(480, 480, 3600)).toBeLessThan(480 / 15);
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
