// Owns the schedules of the configuration: their fields (EventBridge Scheduler cron, time
// zone, which environments, skipped dates) and the checks zod runs on them when the file is
// read. Which environments a schedule selects is checked against the catalog in catalog.ts.
import * as z from 'zod';
import { MAX_DISTRIBUTED_MAP_CONCURRENCY } from '../aws-limits.ts';
import { timeZoneError, validateCron } from './cron.ts';
import { CALENDAR_NAME, IsoDate } from './holidays.ts';
import { parseLabelSelector } from './label-selector.ts';
import { patternError, type Selection } from './selection.ts';

export const Schedule = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 letters, digits, "_", "." or "-"'),
    action: z.enum(['up', 'down']),
    cron: z
      .string()
      .superRefine((cron, ctx) => {
        const why = validateCron(cron);
        if (why)
          ctx.addIssue({ code: 'custom', message: `"${cron}" is not an EventBridge Scheduler cron: ${why}` });
      })
      .describe(
        'EventBridge Scheduler cron, six fields: "minutes hours day-of-month month day-of-week year".',
      ),
    timeZone: z
      .string()
      .superRefine((tz, ctx) => {
        const why = timeZoneError(tz);
        if (why) ctx.addIssue({ code: 'custom', message: why });
      })
      .default('UTC')
      .describe('IANA time zone, e.g. Europe/Berlin.'),
    environments: z
      .array(
        z.string().superRefine((p, ctx) => {
          const why = patternError(p);
          if (why) ctx.addIssue({ code: 'custom', message: why });
        }),
      )
      .default([])
      .describe('Environment keys or globs ("alpha/dev", "*/dev"); OR-ed, then AND-ed with labels.'),
    labels: z
      .string()
      .superRefine((s, ctx) => {
        try {
          parseLabelSelector(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .optional()
      .describe('Label selector, e.g. "tier=dev,team!=payments" or "tier in (dev,staging)".'),
    skipDates: z
      .array(IsoDate)
      .optional()
      .describe('Dates (YYYY-MM-DD, in the schedule time zone) on which this schedule does not run.'),
    calendars: z
      .array(z.string().regex(CALENDAR_NAME, 'a calendar name: 1-64 letters, digits, "_", "." or "-"'))
      .optional()
      .describe('Names of shared calendars (top-level "calendars") whose dates this schedule skips.'),
    maxConcurrency: z
      .number()
      .int('an integer')
      .min(1, 'at least 1')
      .max(
        MAX_DISTRIBUTED_MAP_CONCURRENCY,
        `at most ${MAX_DISTRIBUTED_MAP_CONCURRENCY} (a Distributed Map's limit of child executions at once)`,
      )
      .optional()
      .describe(
        'Environments run at once by this schedule; default: sized to the account RDS API budget (README, "Fleets").',
      ),
    maxLatenessSeconds: z
      .number()
      .int('an integer')
      .min(60, 'at least 60')
      .max(86_400, 'at most 86400 (one day)')
      .optional()
      .describe(
        'A tick that reaches the fleet later than this (a delayed or retried delivery) is refused, nothing changed; default 3600.',
      ),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.environments.length === 0 && s.labels === undefined)
      ctx.addIssue({
        code: 'custom',
        message:
          'say which environments: give "environments" (keys or globs such as "*/dev"), "labels" (e.g. "tier=dev"), or both',
      });
  });
export type Schedule = z.infer<typeof Schedule>;

/** Which environments a schedule acts on. */
export function scheduleSelection(schedule: Pick<Schedule, 'environments' | 'labels'>): Selection {
  return { patterns: [...schedule.environments], labels: schedule.labels ?? null };
}

/** The schedules of a configuration: each with a name of its own. */
export const Schedules = z
  .array(Schedule)
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((s, i) => {
      const first = seen.get(s.name);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `"${s.name}" is already the name of schedules[${first}]; give each schedule its own name`,
        });
      else seen.set(s.name, i);
    });
  })
  .default([]);

export const Calendars = z
  .record(
    z.string().regex(CALENDAR_NAME, 'a calendar name: 1-64 letters, digits, "_", "." or "-"'),
    z.array(IsoDate),
  )
  .optional()
  .describe('Shared holiday calendars: name -> dates (YYYY-MM-DD) that schedules naming them skip.');
