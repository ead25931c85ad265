// The rules of wakes on demand (docs/operations.md "Wake on demand"), case by case: what a
// wake record means against the environment's last change, what a new wake does, when a
// scheduled down is skipped, how far --extend may go, and what the sweep does.
import { describe, expect, it } from 'vitest';
import type { Hold } from '#core/records/hold';
import type { LastChange } from '#core/records/legacy-state';
import type { Wake } from '#core/records/wake';
import {
  decideWake,
  extendedUntil,
  rateLimited,
  sweepDecision,
  WAKE_RATE_LIMITS,
  wakeInEffect,
  wakePhase,
  wakeSkips,
} from '#core/run/wake-rules';

const now = new Date('2026-12-06T20:00:00Z');
const wake: Wake = {
  user: 'alice',
  created: '2026-12-06T19:00:00.000Z',
  until: '2026-12-06T21:30:00.000Z',
  build: 'w1',
  wokeFrom: 'd1',
  source: 'cli',
};
const expired: Wake = { ...wake, until: '2026-12-06T19:59:00.000Z' };
const change = (
  action: 'up' | 'down',
  build: string,
  result: LastChange['result'] = 'succeeded',
): LastChange => ({
  action,
  build,
  result,
  restorePointBuild: null,
});
const downD1 = change('down', 'd1');
const upW1 = change('up', 'w1');
const hold = (skipNext: Hold['skipNext'], until = '2026-12-06T23:00:00.000Z'): Hold => ({
  user: 'dana',
  reason: 'migration',
  created: '2026-12-06T18:00:00.000Z',
  until,
  skipNext,
});
const where = 'alpha/dev';

describe('a wake record against the last change', () => {
  it.each([
    ['its up not recorded yet (the last change is still the down it woke from)', downD1, 'waking'],
    ['its up running', change('up', 'w1', 'running'), 'waking'],
    ['its up succeeded', upW1, 'awake'],
    ['its up failed', change('up', 'w1', 'failed'), 'ended'],
    ['a down recorded after it (manual, its end, or its TTL)', change('down', 'd2'), 'ended'],
    ['another up recorded after its down', change('up', 'u9'), 'ended'],
  ] as const)('%s: %s', (_, last, phase) => {
    expect(wakePhase(wake, last)).toBe(phase);
  });

  it('counts an environment with no change at all as the one it woke from only when it woke from nothing', () => {
    expect(wakePhase({ ...wake, wokeFrom: null }, null)).toBe('waking');
    expect(wakePhase(wake, null)).toBe('ended');
  });

  it('is in effect while awake or waking and not expired; an expired one changes nothing', () => {
    expect(wakeInEffect(wake, upW1, now)).toBe(true);
    expect(wakeInEffect(wake, downD1, now)).toBe(true);
    expect(wakeInEffect(expired, upW1, now)).toBe(false);
    expect(wakeInEffect(wake, change('down', 'd2'), now)).toBe(false);
    expect(wakeInEffect(null, upW1, now)).toBe(false);
  });
});

describe('a request to wake', () => {
  it('runs the up of an environment asleep with no wake, or whose wake ended or expired', () => {
    expect(decideWake({ now, where, hold: null, wake: null, last: downD1 })).toEqual({ kind: 'up' });
    expect(decideWake({ now, where, hold: null, wake: expired, last: downD1 })).toEqual({ kind: 'up' });
    expect(decideWake({ now, where, hold: null, wake, last: change('down', 'd2') })).toEqual({ kind: 'up' });
    expect(decideWake({ now, where, hold: null, wake: null, last: change('up', 'u1', 'failed') })).toEqual({
      kind: 'up',
    });
  });

  it('answers with the wake in effect (waking or awake): no second up', () => {
    expect(decideWake({ now, where, hold: null, wake, last: upW1 })).toEqual({ kind: 'existing', wake });
    expect(decideWake({ now, where, hold: null, wake, last: downD1 })).toEqual({ kind: 'existing', wake });
  });

  it('takes over the up of an expired wake the sweep has not put to sleep yet, with no up', () => {
    expect(decideWake({ now, where, hold: null, wake: expired, last: upW1 })).toEqual({
      kind: 'renew',
      wake: expired,
    });
  });

  it('is refused while a hold holds up back: the hold wins, even over a wake in effect', () => {
    for (const h of [hold(null), hold('up')]) {
      const d = decideWake({ now, where, hold: h, wake, last: upW1 });
      expect(d).toEqual({ kind: 'refused', why: expect.stringContaining('alpha/dev is on hold until') });
    }
  });

  it('ignores an expired hold and one that holds back downs only', () => {
    expect(
      decideWake({ now, where, hold: hold(null, '2026-12-06T19:00:00.000Z'), wake: null, last: downD1 }),
    ).toEqual({
      kind: 'up',
    });
    expect(decideWake({ now, where, hold: hold('down'), wake: null, last: downD1 })).toEqual({ kind: 'up' });
  });

  it('is refused when the environment is up (or coming up) but not by a wake', () => {
    for (const result of ['succeeded', 'running'] as const) {
      const d = decideWake({ now, where, hold: null, wake: null, last: change('up', 'u1', result) });
      expect(d).toEqual({ kind: 'refused', why: expect.stringContaining('already up (build u1') });
    }
  });
});

describe('a down during a wake', () => {
  it('is skipped when scheduled, with until and who', () => {
    expect(wakeSkips({ action: 'down', user: 'schedule:nightly' }, wake, upW1, now)).toBe(
      'awake on demand until 21:30 UTC by alice',
    );
  });

  it('goes ahead when manual, or the wake’s own (end or TTL), or when the wake expired or ended', () => {
    expect(wakeSkips({ action: 'down', user: 'bob' }, wake, upW1, now)).toBeNull();
    expect(wakeSkips({ action: 'down', user: 'wake:ttl:alice' }, wake, upW1, now)).toBeNull();
    expect(wakeSkips({ action: 'down', user: 'schedule:nightly' }, expired, upW1, now)).toBeNull();
    expect(
      wakeSkips({ action: 'down', user: 'schedule:nightly' }, wake, change('down', 'd2'), now),
    ).toBeNull();
    expect(wakeSkips({ action: 'down', user: 'schedule:nightly' }, null, upW1, now)).toBeNull();
  });

  it('leaves scheduled ups and status alone', () => {
    expect(wakeSkips({ action: 'up', user: 'schedule:morning' }, wake, upW1, now)).toBeNull();
    expect(wakeSkips({ action: 'get_env_state', user: 'schedule:x' }, wake, upW1, now)).toBeNull();
  });
});

describe('--extend', () => {
  it('moves until by the duration, within the maximum from now', () => {
    expect(extendedUntil(wake, 60, 720, now)).toEqual({ until: '2026-12-06T22:30:00.000Z' });
    // 21:30 + 10h30 = 08:00, exactly 12h from 20:00.
    expect(extendedUntil(wake, 630, 720, now)).toEqual({ until: '2026-12-07T08:00:00.000Z' });
  });

  it('is refused past the maximum, saying how much is left', () => {
    const r = extendedUntil(wake, 631, 720, now);
    expect(r).toEqual({ refused: expect.stringContaining('at most 630m') });
  });
});

describe('the sweep', () => {
  it.each([
    ['a wake not expired', wake, upW1, 'keep'],
    ['an expired wake still keeping its environment up', expired, upW1, 'down'],
    ['an expired wake whose up is still running', expired, change('up', 'w1', 'running'), 'keep'],
    ['an expired wake whose environment someone else put down', expired, change('down', 'd2'), 'clear'],
    ['an expired wake whose up failed', expired, change('up', 'w1', 'failed'), 'down'],
    ['an expired wake whose up was never recorded', expired, downD1, 'clear'],
  ] as const)('%s: %s', (_, w, last, kind) => {
    expect(sweepDecision(w, last, now)).toEqual({ kind });
  });
});

describe('the rate limits', () => {
  const at = (minutesAgo: number) => ({ at: new Date(now.getTime() - minutesAgo * 60_000).toISOString() });

  it('lets a wake through below the limit, counting only the last hour', () => {
    expect(rateLimited([at(10), at(20), at(30), at(61), at(90)], now, 4, 'of alpha/dev')).toBeNull();
  });

  it('refuses at the limit, saying how many, whose, and when the next is allowed', () => {
    expect(rateLimited([at(50), at(10), at(40), at(20)], now, 4, 'of alpha/dev')).toBe(
      'rate limited: 4 wakes of alpha/dev in the last hour; next allowed at 20:10 UTC',
    );
  });

  it('past the limit, the next is allowed when enough have left the hour to be below it', () => {
    // Five in the hour, limit 4: two must leave; the second oldest (40 min ago) leaves at 20:20.
    expect(rateLimited([at(50), at(40), at(30), at(20), at(10)], now, 4, 'by alice')).toMatch(
      /^rate limited: 5 wakes by alice in the last hour; next allowed at 20:20 UTC$/,
    );
  });

  it('ignores an entry from the future (a skewed clock) and one exactly an hour old', () => {
    expect(rateLimited([at(-5), at(60), at(10), at(20)], now, 3, 'of alpha/dev')).toBeNull();
  });

  it('keeps its constants in one place, the person’s limit above the environment’s', () => {
    expect(WAKE_RATE_LIMITS.windowMinutes).toBe(60);
    expect(WAKE_RATE_LIMITS.perPerson).toBeGreaterThan(WAKE_RATE_LIMITS.perEnvironment);
  });
});
