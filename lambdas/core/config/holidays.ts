// Owns holidays: the dates on which a schedule does not run. A schedule names `skipDates`
// (ISO dates) and/or shared `calendars` of the configuration; the stack puts the resolved
// dates into the schedule's input, so the fleet's Select step (which knows the schedule's
// name and the tick's scheduledTime) decides without reading the configuration. A date is
// a day in the schedule's time zone: 2026-12-24 in Europe/Berlin starts at 23:00 UTC.
import * as z from 'zod';
import { timeZoneError } from './cron.ts';

const ISO_DATE = /^(\d{4})-(\d\d)-(\d\d)$/;

/** Why `s` is not an ISO calendar date (YYYY-MM-DD that exists), or null. */
export function isoDateError(s: unknown): string | null {
  const m = typeof s === 'string' ? ISO_DATE.exec(s) : null;
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const t = new Date(Date.UTC(y, mo - 1, d));
    if (t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d) return null;
  }
  return `${JSON.stringify(s instanceof Date ? s.toISOString() : s)} is not a date: write it as YYYY-MM-DD, e.g. "2026-12-24"`;
}

export const IsoDate = z
  .string({ message: 'a date as YYYY-MM-DD (quote it), e.g. "2026-12-24"' })
  .regex(ISO_DATE, 'a date as YYYY-MM-DD, e.g. "2026-12-24"')
  .superRefine((s, ctx) => {
    const why = isoDateError(s);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });

export const CALENDAR_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** What a schedule's input carries: its time zone and each skipped date with why. */
export const Holidays = z
  .object({
    timeZone: z.string().superRefine((tz, ctx) => {
      const why = timeZoneError(tz);
      if (why) ctx.addIssue({ code: 'custom', message: why });
    }),
    dates: z
      .record(z.string(), z.string().max(200, 'why a date is skipped: at most 200 characters'))
      .superRefine((dates, ctx) => {
        for (const d of Object.keys(dates)) {
          if (isoDateError(d))
            ctx.addIssue({ code: 'custom', path: [d], message: `holiday dates are YYYY-MM-DD, not "${d}"` });
        }
      }),
  })
  .strict();
export type Holidays = z.infer<typeof Holidays>;

/** The schedule's skip dates, own and from its calendars, each with where it comes from. */
export function scheduleHolidays(
  schedule: {
    name: string;
    timeZone: string;
    skipDates?: string[] | undefined;
    calendars?: string[] | undefined;
  },
  calendars: Record<string, string[]>,
): Holidays | null {
  const dates: Record<string, string> = {};
  for (const name of schedule.calendars ?? [])
    for (const d of calendars[name] ?? []) dates[d] ??= `calendar ${name}`;
  for (const d of schedule.skipDates ?? []) dates[d] = `skipDates of schedule ${schedule.name}`;
  if (Object.keys(dates).length === 0) return null;
  const sorted = Object.fromEntries(Object.entries(dates).sort(([a], [b]) => a.localeCompare(b)));
  return { timeZone: schedule.timeZone, dates: sorted };
}

/** The calendar day of `at` in `timeZone`, as YYYY-MM-DD. */
export function localDate(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Is the tick at `scheduledTime` on a skipped date? Then which, and why. */
export function holidayAt(
  holidays: Holidays,
  scheduledTime: Date,
): { date: string; timeZone: string; why: string } | null {
  const date = localDate(scheduledTime, holidays.timeZone);
  const why = holidays.dates[date];
  return why === undefined ? null : { date, timeZone: holidays.timeZone, why };
}

/** The schedule target input's `holidays` field, when the schedule has any skip date. */
export function holidaysInput(
  schedule: Parameters<typeof scheduleHolidays>[0],
  calendars: Record<string, string[]>,
): { holidays?: Holidays } {
  const h = scheduleHolidays(schedule, calendars);
  return h ? { holidays: h } : {};
}
