// Owns the static checks of EventBridge Scheduler schedules (cron expression, time zone), so
// that a schedule with a typo is refused when the configuration is read, not when `cdk deploy`
// (or 8 p.m.) comes.
// Rules from the EventBridge Scheduler docs ("Cron expressions"):
//   minutes 0-59, hours 0-23, month 1-12|JAN-DEC, year 1970-2199:  , - * /
//   day-of-month 1-31:  , - * / ? L W   (L, nW, LW are whole-field forms)
//   day-of-week 1-7|SUN-SAT:  , - * ? L #   (L, nL, d#n are whole-field forms; no "/")
//   exactly one of day-of-month and day-of-week is "?".
// Ranges must run upwards (write 22-2 as 22-23,0-2): the docs do not promise wrap-around.
import { closestNames } from './did-you-mean.ts';

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  step: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const MINUTES: Field = { name: 'minutes', min: 0, max: 59, step: true };
const HOURS: Field = { name: 'hours', min: 0, max: 23, step: true };
const DAY_OF_MONTH: Field = { name: 'day-of-month', min: 1, max: 31, step: true };
const MONTH: Field = { name: 'month', min: 1, max: 12, names: MONTHS, step: true };
const DAY_OF_WEEK: Field = { name: 'day-of-week', min: 1, max: 7, names: DAYS, step: false };
const YEAR: Field = { name: 'year', min: 1970, max: 2199, step: true };

const SHAPE = 'six fields "minutes hours day-of-month month day-of-week year", e.g. "0 20 ? * MON-FRI *"';

const DAY_FIELDS = new Set(['day-of-month', 'day-of-week']);
const SPECIAL = /^(\?|L|LW|\d+[LW]|.+#.*)$/;

/** One value: a number in range or (month, day-of-week) a three-letter name. */
function value(f: Field, s: string): number | string {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= f.min && n <= f.max ? n : `${f.name}: ${s} is out of range ${f.min}-${f.max}`;
  }
  const i = f.names?.indexOf(s) ?? -1;
  if (i >= 0) return i + 1;
  if (SPECIAL.test(s))
    return DAY_FIELDS.has(f.name)
      ? `${f.name}: "${s}" must be the whole field, not part of a list, range or increment`
      : `${f.name}: "${s}" uses a form allowed only in day-of-month or day-of-week`;
  return f.names
    ? `${f.name}: "${s}" is not a number ${f.min}-${f.max} or one of ${f.names[0]}-${f.names.at(-1)}`
    : `${f.name}: "${s}" is not a number ${f.min}-${f.max}`;
}

/** One list element: *, n, a-b, with an optional /step where the field allows it. */
function element(f: Field, s: string): string | null {
  const [base = '', step, extra] = s.split('/');
  if (extra !== undefined) return `${f.name}: "${s}" has more than one "/"`;
  if (step !== undefined) {
    if (!f.step) return `${f.name}: increments ("/") are not supported in this field`;
    if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > f.max)
      return `${f.name}: increment "${step}" in "${s}" must be a number 1-${f.max}`;
  }
  if (base === '*') return null;
  const range = base.split('-');
  if (range.length > 2 || range.some((p) => p === ''))
    return `${f.name}: "${s}" is not a value, a range "a-b" or "*"`;
  const [from, to] = range.map((p) => value(f, p));
  if (typeof from === 'string') return from;
  if (typeof to === 'string') return to;
  if (to !== undefined && to < (from ?? 0))
    return `${f.name}: range "${base}" runs backwards; write it as two ranges joined by ","`;
  return null;
}

function field(f: Field, s: string): string | null {
  for (const part of s.split(',')) {
    if (part === '') return `${f.name}: "${s}" has an empty list element`;
    const reason = element(f, part);
    if (reason) return reason;
  }
  return null;
}

function dayOfMonth(s: string): string | null {
  if (s === '?' || s === 'L' || s === 'LW') return null;
  const weekday = /^(\d+)W$/.exec(s);
  if (weekday) {
    const d = value(DAY_OF_MONTH, weekday[1] ?? '');
    return typeof d === 'string' ? d : null;
  }
  if (/^L-|#/.test(s))
    return `day-of-month: "${s}" is not supported; use L (last day), LW (last weekday) or nW (weekday nearest day n)`;
  return field(DAY_OF_MONTH, s);
}

function dayOfWeek(s: string): string | null {
  if (s === '?' || s === 'L' || /^[1-7]L$/.test(s)) return null;
  const nth = /^([^#,/-]+)#(\d+)$/.exec(s);
  if (nth) {
    const d = value(DAY_OF_WEEK, nth[1] ?? '');
    if (typeof d === 'string') return d;
    const n = Number(nth[2]);
    return n >= 1 && n <= 5 ? null : `day-of-week: "${s}": the week number after "#" must be 1-5`;
  }
  if (/^\d+L$/.test(s)) return `day-of-week: "${s}": the day before "L" must be 1-7`;
  return field(DAY_OF_WEEK, s);
}

/**
 * Checks an EventBridge Scheduler cron expression (the part inside `cron(...)`).
 * Returns null when it is valid, otherwise a short reason that names the field.
 */
export function validateCron(expr: string): string | null {
  const fields = expr.trim().toUpperCase().split(/\s+/);
  if (fields.length !== 6) return `found ${fields.length} field(s); EventBridge Scheduler needs ${SHAPE}`;
  const [min = '', hour = '', dom = '', month = '', dow = '', year = ''] = fields;
  if ((dom === '?') === (dow === '?'))
    return dom === '?'
      ? 'day-of-month and day-of-week are both "?"; give one of them a value, e.g. "0 8 ? * MON-FRI *"'
      : `day-of-month ("${dom}") and day-of-week ("${dow}") cannot both be set; make one of them "?", e.g. "0 8 * * ? *"`;
  return (
    field(MINUTES, min) ??
    field(HOURS, hour) ??
    dayOfMonth(dom) ??
    field(MONTH, month) ??
    dayOfWeek(dow) ??
    field(YEAR, year) ??
    neverFires(dom, month)
  );
}

/** The values a valid list field (numbers, names, ranges, "*", steps) stands for. */
function expand(f: Field, s: string): Set<number> {
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const [base = '', step = '1'] = part.split('/');
    const [from, to] =
      base === '*'
        ? [f.min, f.max]
        : base.split('-').map((p) => {
            const v = value(f, p);
            return typeof v === 'number' ? v : f.min;
          });
    const last = to ?? (part.includes('/') ? f.max : (from ?? f.min));
    for (let v = from ?? f.min; v <= last; v += Number(step)) out.add(v);
  }
  return out;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A day-of-month that no chosen month has (February 30, April 31) never fires: refused. */
function neverFires(dom: string, month: string): string | null {
  if (!/^[0-9,*/-]+$/.test(dom)) return null; // ?, L, LW, nW: some day always exists
  const days = expand(DAY_OF_MONTH, dom);
  const months = expand(MONTH, month);
  for (const m of months) for (const d of days) if (d <= (DAYS_IN_MONTH[m - 1] ?? 31)) return null;
  return `day-of-month "${dom}" never occurs in month "${month}", so the schedule would never fire; pick days that exist (or L for the last day)`;
}

let knownZones: Set<string> | undefined;

/**
 * Why `tz` is not an IANA time zone, or null. Node's ICU accepts names in any case and lists
 * only its own canonical names (Asia/Calcutta, not Asia/Kolkata), so a name counts when
 * Intl accepts it and it is either listed or spelled like an IANA name (capitalised parts).
 */
export function timeZoneError(tz: string): string | null {
  knownZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (knownZones.has(tz)) return null;
  let resolved: string | null = null;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    resolved = null;
  }
  const ianaSpelling = /^[A-Z][A-Za-z0-9_+-]*(\/[A-Z0-9][A-Za-z0-9_+-]*)*$/.test(tz);
  const caseVariant = [...knownZones].find((z) => z.toLowerCase() === tz.toLowerCase());
  if (resolved !== null && ianaSpelling && !caseVariant) return null;
  const near = caseVariant ?? resolved;
  const similar = near ? [near] : closestZones(tz);
  const hint = similar.length ? ` (did you mean ${similar.join(', ')}?)` : '';
  return `"${tz}" is not an IANA time zone${hint}; write a tz database name such as Europe/Berlin, America/New_York or UTC`;
}

/** Zones of the same region closest to `tz` ("Europe/Berln" -> Europe/Berlin); none across regions. */
function closestZones(tz: string): string[] {
  const region = `${tz.split('/')[0]?.toLowerCase() ?? ''}/`;
  const zones = [...(knownZones ?? [])].filter((z) => z.toLowerCase().startsWith(region));
  return closestNames(tz, zones);
}
