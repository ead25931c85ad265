// Holidays: skip dates are days in the schedule's time zone (across DST changes), resolved
// from the schedule's own skipDates and the shared calendars; bad dates and unknown
// calendars are configuration errors.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import { holidayAt, isoDateError, localDate, scheduleHolidays } from '#core/config/holidays';

const minimal = (over: Record<string, unknown> = {}) => ({
  defaults: {
    cluster: 'eks-dev-cluster',
    region: 'us-east-1',
    bucket: 'customer-infra-manager',
    deployments: [{ name: 'web' }],
  },
  environments: { 'alpha/dev': {} },
  ...over,
});
const schedule = (over: Record<string, unknown> = {}) => ({
  name: 'weeknights-down',
  action: 'down',
  cron: '0 20 ? * MON-FRI *',
  timeZone: 'Europe/Berlin',
  environments: ['alpha/dev'],
  ...over,
});

describe('holidays', () => {
  it('takes the date in the schedule time zone, across the spring DST change', () => {
    // Europe/Berlin goes from UTC+1 to UTC+2 at 2026-03-29T01:00Z.
    expect(localDate(new Date('2026-03-28T23:30:00Z'), 'Europe/Berlin')).toBe('2026-03-29');
    expect(localDate(new Date('2026-03-29T21:59:00Z'), 'Europe/Berlin')).toBe('2026-03-29');
    expect(localDate(new Date('2026-03-29T22:00:00Z'), 'Europe/Berlin')).toBe('2026-03-30');
    expect(localDate(new Date('2026-03-29T03:00:00Z'), 'America/New_York')).toBe('2026-03-28');
  });

  it('says which date is skipped and why, own skipDates winning over a calendar', () => {
    const h = scheduleHolidays(
      { name: 'nightly', timeZone: 'Europe/Berlin', skipDates: ['2026-12-31'], calendars: ['de'] },
      { de: ['2026-12-24', '2026-12-31'] },
    );
    expect(h).toEqual({
      timeZone: 'Europe/Berlin',
      dates: { '2026-12-24': 'calendar de', '2026-12-31': 'skipDates of schedule nightly' },
    });
    // 20:00 in Berlin on Christmas Eve is 19:00 UTC.
    expect(holidayAt(h as NonNullable<typeof h>, new Date('2026-12-24T19:00:00Z'))).toEqual({
      date: '2026-12-24',
      timeZone: 'Europe/Berlin',
      why: 'calendar de',
    });
    // 23:30 UTC on the 23rd is already the 24th in Berlin; 23:30 UTC on the 24th is the 25th.
    expect(holidayAt(h as NonNullable<typeof h>, new Date('2026-12-23T23:30:00Z'))?.date).toBe('2026-12-24');
    expect(holidayAt(h as NonNullable<typeof h>, new Date('2026-12-24T23:30:00Z'))).toBeNull();
    expect(scheduleHolidays({ name: 'x', timeZone: 'UTC' }, {})).toBeNull();
  });

  it.each(['2026-02-30', '2026-13-01', '24.12.2026', '2026-1-5', '', 'tomorrow'])(
    'refuses %j as a date',
    (d) => {
      expect(isoDateError(d)).toMatch(/is not a date: write it as YYYY-MM-DD/);
    },
  );

  it('refuses a skipDate that is not a date, naming the schedule entry', () => {
    expect(() =>
      parseConfig(
        minimal({ schedules: [schedule({ skipDates: ['2026-12-24', '2026-02-30'] })] }),
        'env.yaml',
      ),
    ).toThrow(/schedules\[0\]\.skipDates\[1\].*"2026-02-30" is not a date/s);
    expect(() => parseConfig(minimal({ calendars: { de: ['Christmas'] } }), 'env.yaml')).toThrow(
      /calendars\.de\[0\].*YYYY-MM-DD/s,
    );
  });

  it('refuses a schedule naming a calendar that does not exist', () => {
    expect(() =>
      parseConfig(
        minimal({ calendars: { 'de-holidays': [] }, schedules: [schedule({ calendars: ['de-holiday'] })] }),
        'env.yaml',
      ),
    ).toThrow(
      /schedules\[0\]\.calendars\[0\] \("de-holiday"\) is not a calendar under "calendars" \(known: de-holidays\)/,
    );
  });

  it('accepts skipDates and calendars', () => {
    const c = parseConfig(
      minimal({
        calendars: { 'de-holidays': ['2026-12-24', '2026-12-25'] },
        schedules: [schedule({ skipDates: ['2026-12-31'], calendars: ['de-holidays'] })],
      }),
      'env.yaml',
    );
    expect(c.schedules[0]?.skipDates).toEqual(['2026-12-31']);
    expect(c.calendars?.['de-holidays']).toHaveLength(2);
  });
});
