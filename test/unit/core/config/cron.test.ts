import { describe, expect, it } from 'vitest';
import { timeZoneError, validateCron } from '#core/config/cron';

describe('EventBridge Scheduler cron expressions', () => {
  it.each([
    // From the EventBridge Scheduler documentation's examples.
    '0 10 * * ? *',
    '15 12 * * ? *',
    '0 18 ? * MON-FRI *',
    '0 8 1 * ? *',
    '0/15 * * * ? *',
    '0/10 * ? * MON-FRI *',
    '0/5 8-17 ? * MON-FRI *',
    '0 9 ? * 2#1 *',
    '0 0 L * ? *',
    '0 0 ? * 6L *',
    // Other forms the rules allow.
    '0 20 ? * MON-FRI *',
    '*/5 * * * ? *',
    '0 0 15W * ? *',
    '0 0 LW * ? *',
    '0 0 ? * L 2026-2030',
    '0 0 ? * SUN,WED,SAT *',
    '0 0 1 JUL ? *',
    '0 0 1 JAN-MAR,OCT ? *',
    '0 7 ? * mon-fri *',
    '0,30 8-10/2 1-15 */3 ? 2026/2',
    '0 9 ? * FRI#3 *',
  ])('accepts %j', (expr) => {
    expect(validateCron(expr)).toBeNull();
  });

  it.each([
    ['0 25 * * ? *', 'hours: 25 is out of range 0-23'],
    ['60 * ? * MON *', 'minutes: 60 is out of range 0-59'],
    ['0 8 * * * *', 'day-of-month ("*") and day-of-week ("*") cannot both be set; make one of them "?"'],
    ['0 8 1 * MON *', 'cannot both be set'],
    ['0 8 ? * ? *', 'day-of-month and day-of-week are both "?"'],
    ['0 8 ? * FOO *', 'day-of-week: "FOO" is not a number 1-7 or one of SUN-SAT'],
    ['0 20 * * ?', 'found 5 field(s); EventBridge Scheduler needs six fields'],
    ['0 20 * * ? * *', 'found 7 field(s)'],
    ['0 8 0 * ? *', 'day-of-month: 0 is out of range 1-31'],
    ['0 8 32W * ? *', 'day-of-month: 32 is out of range 1-31'],
    ['0 8 L-3 * ? *', 'day-of-month: "L-3" is not supported'],
    ['0 8 1,L * ? *', 'day-of-month: "L" must be the whole field'],
    ['0 8 1 13 ? *', 'month: 13 is out of range 1-12'],
    ['0 8 1 FOO ? *', 'month: "FOO" is not a number 1-12 or one of JAN-DEC'],
    ['0 8 ? * 0 *', 'day-of-week: 0 is out of range 1-7'],
    ['0 8 ? * 8L *', 'day-of-week: "8L": the day before "L" must be 1-7'],
    ['0 8 ? * 2#6 *', 'day-of-week: "2#6": the week number after "#" must be 1-5'],
    ['0 8 ? * MON,5L *', 'day-of-week: "5L" must be the whole field'],
    ['0 8 ? * */2 *', 'day-of-week: increments ("/") are not supported'],
    ['0 8 1 * ? 1969', 'year: 1969 is out of range 1970-2199'],
    ['0 8 1 * ? 2200', 'year: 2200 is out of range 1970-2199'],
    ['0 L * * ? *', 'hours: "L" uses a form allowed only in day-of-month or day-of-week'],
    ['0/0 * * * ? *', 'minutes: increment "0" in "0/0" must be a number 1-59'],
    ['0/60 * * * ? *', 'minutes: increment "60" in "0/60" must be a number 1-59'],
    ['0 22-2 * * ? *', 'hours: range "22-2" runs backwards'],
    ['0,,30 * * * ? *', 'minutes: "0,,30" has an empty list element'],
    ['1-2-3 * * * ? *', 'minutes: "1-2-3" is not a value, a range "a-b" or "*"'],
    ['0 8 1 * ? **', 'year: "**" is not a number 1970-2199'],
  ])('refuses %j, naming the field', (expr, reason) => {
    expect(validateCron(expr)).toContain(reason);
  });
});

describe('schedule time zones', () => {
  it.each(['Europe/Berlin', 'UTC', 'Etc/GMT+5', 'Asia/Kolkata', 'Asia/Calcutta'])('accepts %s', (tz) => {
    expect(timeZoneError(tz)).toBeNull();
  });

  it.each([
    ['Mars/Base', '"Mars/Base" is not an IANA time zone; write a tz database name such as Europe/Berlin'],
    ['europe/berlin', '(did you mean Europe/Berlin?)'],
    ['utc', '(did you mean UTC?)'],
    ['America/New_Yrok', '(did you mean America/New_York'],
  ])('refuses %s', (tz, message) => {
    expect(timeZoneError(tz)).toContain(message);
  });
});
