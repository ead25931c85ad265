import { describe, expect, it } from 'vitest';
import type { RunRow } from '#core/report/model';
import { hoursIn, sleepIntervals } from '#core/report/sleep';

const run = (
  action: RunRow['action'],
  startedAt: string,
  endedAt: string | null,
  extra: Partial<RunRow> = {},
): RunRow => ({
  customer: 'acme',
  environment: 'dev',
  action,
  build: `${action}-${startedAt}`,
  trigger: 'schedule',
  user: 'schedule:nightly',
  startedAt,
  endedAt,
  outcome: 'succeeded',
  recordKey: `acme/dev/history/${action}-${startedAt}/actions.json`,
  ...extra,
});

/** A down that started 10 minutes before it ended (the sleep starts at its end). */
const down = (endedAt: string, extra: Partial<RunRow> = {}) =>
  run('down', new Date(Date.parse(endedAt) - 600_000).toISOString(), endedAt, extra);
const up = (startedAt: string, extra: Partial<RunRow> = {}) =>
  run('up', startedAt, new Date(Date.parse(startedAt) + 900_000).toISOString(), extra);

const june = { from: '2026-06-01T00:00:00.000Z', to: '2026-06-08T00:00:00.000Z' };

describe('sleepIntervals', () => {
  it('counts a night from the end of the down to the start of the next up', () => {
    const runs = [down('2026-06-01T20:00:00.000Z'), up('2026-06-02T06:00:00.000Z')];
    const asleep = sleepIntervals(runs, june);
    expect(asleep).toEqual([{ from: '2026-06-01T20:00:00.000Z', to: '2026-06-02T06:00:00.000Z' }]);
    // 20:00 → 06:00 = 10 h.
    expect(hoursIn(asleep)).toBe(10);
  });

  it('clips a partial day to the range and a sleep still going on to now', () => {
    const day = { from: '2026-06-02T00:00:00.000Z', to: '2026-06-03T00:00:00.000Z' };
    const runs = [
      down('2026-06-01T20:00:00.000Z'),
      up('2026-06-02T06:00:00.000Z'),
      down('2026-06-02T20:00:00.000Z'),
    ];
    const asleep = sleepIntervals(runs, day, '2026-06-02T23:00:00.000Z');
    // The night before is clipped at the range's start: 00:00 → 06:00 = 6 h; the sleep that
    // has not ended counts until now: 20:00 → 23:00 = 3 h. 6 + 3 = 9 h.
    expect(asleep).toEqual([
      { from: '2026-06-02T00:00:00.000Z', to: '2026-06-02T06:00:00.000Z' },
      { from: '2026-06-02T20:00:00.000Z', to: '2026-06-02T23:00:00.000Z' },
    ]);
    expect(hoursIn(asleep)).toBe(9);
    // Without now (or with now past the range), it counts until the range's end: 20:00 → 24:00.
    expect(hoursIn(sleepIntervals(runs, day))).toBe(10);
    expect(hoursIn(sleepIntervals(runs, day, '2026-06-05T00:00:00.000Z'))).toBe(10);
  });

  it('counts the real hours of a daylight-saving night, not the wall clock', () => {
    const paris = (iso: string) =>
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Paris',
        hour: '2-digit',
        minute: '2-digit',
        hour12: false,
      }).format(new Date(iso));
    const range = { from: '2026-03-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z' };
    // Spring forward, Sunday 2026-03-29: 22:00 CET (UTC+1) = 21:00Z; 07:00 CEST (UTC+2) = 05:00Z.
    // The wall clock says 9 h; 21:00Z → 05:00Z is 8 h.
    const spring = [down('2026-03-28T21:00:00.000Z'), up('2026-03-29T05:00:00.000Z')];
    expect([paris('2026-03-28T21:00:00.000Z'), paris('2026-03-29T05:00:00.000Z')]).toEqual([
      '22:00',
      '07:00',
    ]);
    expect(hoursIn(sleepIntervals(spring, range))).toBe(8);
    // Fall back, Sunday 2026-10-25: 22:00 CEST = 20:00Z; 07:00 CET = 06:00Z. Wall clock 9 h, real 10 h.
    const autumn = [down('2026-10-24T20:00:00.000Z'), up('2026-10-25T06:00:00.000Z')];
    expect([paris('2026-10-24T20:00:00.000Z'), paris('2026-10-25T06:00:00.000Z')]).toEqual([
      '22:00',
      '07:00',
    ]);
    expect(hoursIn(sleepIntervals(autumn, range))).toBe(10);
  });

  it('ends a sleep at a manual wake in the middle and starts a new one at the next down', () => {
    const runs = [
      down('2026-06-01T20:00:00.000Z'),
      up('2026-06-01T23:00:00.000Z', { trigger: 'cli', user: 'alice' }),
      down('2026-06-01T23:30:00.000Z', { trigger: 'cli', user: 'alice' }),
      up('2026-06-02T06:00:00.000Z'),
    ];
    // 20:00 → 23:00 = 3 h, then 23:30 → 06:00 = 6.5 h: 9.5 h, not the 10 h of the schedule.
    expect(sleepIntervals(runs, june)).toEqual([
      { from: '2026-06-01T20:00:00.000Z', to: '2026-06-01T23:00:00.000Z' },
      { from: '2026-06-01T23:30:00.000Z', to: '2026-06-02T06:00:00.000Z' },
    ]);
    expect(hoursIn(sleepIntervals(runs, june))).toBe(9.5);
  });

  it('saves nothing for a failed, refused, skipped or unfinished down', () => {
    for (const extra of [
      { outcome: 'failed' as const },
      { outcome: 'refused' as const },
      { outcome: 'skipped' as const },
    ]) {
      const runs = [down('2026-06-01T20:00:00.000Z', extra), up('2026-06-02T06:00:00.000Z')];
      expect(sleepIntervals(runs, june)).toEqual([]);
    }
    const running = run('down', '2026-06-01T19:50:00.000Z', null);
    expect(sleepIntervals([running], june)).toEqual([]);
  });

  it('gives the same intervals whatever the order of the runs', () => {
    const runs = [
      down('2026-06-01T20:00:00.000Z'),
      up('2026-06-02T06:00:00.000Z'),
      down('2026-06-02T20:00:00.000Z'),
      up('2026-06-03T06:00:00.000Z'),
    ];
    const reversed = [...runs].reverse();
    const shuffled = [runs[2], runs[0], runs[3], runs[1]] as RunRow[];
    expect(sleepIntervals(reversed, june)).toEqual(sleepIntervals(runs, june));
    expect(sleepIntervals(shuffled, june)).toEqual(sleepIntervals(runs, june));
    expect(hoursIn(sleepIntervals(runs, june))).toBe(20);
  });

  it('keeps the first start of two downs in a row and ignores an up with no down before it', () => {
    const runs = [
      up('2026-06-01T06:00:00.000Z'),
      down('2026-06-01T20:00:00.000Z'),
      down('2026-06-01T21:00:00.000Z', { trigger: 'guard', user: 'guard' }),
      up('2026-06-02T06:00:00.000Z'),
    ];
    // One sleep, 20:00 → 06:00 = 10 h: the second down neither restarts nor doubles it.
    expect(sleepIntervals(runs, june)).toEqual([
      { from: '2026-06-01T20:00:00.000Z', to: '2026-06-02T06:00:00.000Z' },
    ]);
  });

  it('goes on sleeping through a refused or skipped up, and stops at a failed one', () => {
    const refused = [
      down('2026-06-01T20:00:00.000Z'),
      up('2026-06-02T05:00:00.000Z', { outcome: 'refused' }),
      up('2026-06-02T06:00:00.000Z'),
    ];
    expect(hoursIn(sleepIntervals(refused, june))).toBe(10);
    // A failed up may have started the database before failing: the sleep ends at its start.
    const failed = [down('2026-06-01T20:00:00.000Z'), up('2026-06-02T05:00:00.000Z', { outcome: 'failed' })];
    expect(hoursIn(sleepIntervals(failed, june))).toBe(9);
  });

  it('leaves out a run whose time cannot be read and returns nothing for an empty range', () => {
    const runs = [down('2026-06-01T20:00:00.000Z'), run('up', 'not a time', null)];
    // The unreadable up is left out, so the sleep goes on to the range's end: 20:00 on the 1st → the 8th.
    expect(hoursIn(sleepIntervals(runs, june))).toBe(6 * 24 + 4);
    expect(sleepIntervals(runs, { from: june.to, to: june.from })).toEqual([]);
  });
});
