/**
 * EventBridge schedule expressions: `rate(...)` and the six-field `cron(...)`, evaluated in UTC as
 * EventBridge does. The CDK stack validates BATCH_SCHEDULE with `allowSeconds: false`; the local
 * runtime also accepts `rate(N seconds)` so the batch flush can be exercised quickly.
 */

export interface CronFields {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** `undefined` when the field is `?` (the day is chosen by the other day field). */
  readonly daysOfMonth: DayOfMonthRule | undefined;
  readonly months: readonly number[];
  /** `undefined` when the field is `?`. */
  readonly daysOfWeek: DayOfWeekRule | undefined;
  readonly years: readonly number[];
}

/** Listed days, the last day of the month (`L`), or the weekday nearest a day (`15W`). */
export type DayOfMonthRule = { readonly days: readonly number[] } | { readonly last: true } | { readonly nearestWeekdayTo: number };

/**
 * Listed days (1 = Sunday … 7 = Saturday, as in AWS cron; `L` alone is Saturday), the last given
 * weekday of the month (`6L`, the last Friday), or the nth one (`6#3`, the third Friday).
 */
export type DayOfWeekRule = { readonly days: readonly number[] } | { readonly lastOfMonth: number } | { readonly weekday: number; readonly nth: number };

export type ParsedSchedule = { kind: 'rate'; everyMs: number } | { kind: 'cron'; fields: CronFields };

export class ScheduleExpressionError extends Error {}

const UNIT_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

export function parseScheduleExpression(expr: string, opts: { allowSeconds: boolean }): ParsedSchedule {
  const text = expr.trim();
  const rate = /^rate\((.*)\)$/.exec(text);
  if (rate) return { kind: 'rate', everyMs: parseRate(rate[1], opts.allowSeconds, expr) };
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) return { kind: 'cron', fields: parseCron(cron[1], expr) };
  throw new ScheduleExpressionError(
    `Invalid schedule expression "${expr}": expected rate(<value> <unit>) or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`,
  );
}

function parseRate(body: string, allowSeconds: boolean, expr: string): number {
  const units = allowSeconds ? 'second(s), minute(s), hour(s) or day(s)' : 'minute(s), hour(s) or day(s)';
  const match = /^(\d+) (second|minute|hour|day)(s?)$/.exec(body);
  if (!match) throw new ScheduleExpressionError(`Invalid rate expression "${expr}": expected rate(<positive integer> <${units}>)`);
  const value = Number(match[1]);
  const unit = match[2] as keyof typeof UNIT_MS;
  if (unit === 'second' && !allowSeconds) {
    throw new ScheduleExpressionError(`Invalid rate expression "${expr}": EventBridge rates are in ${units}`);
  }
  if (value < 1) throw new ScheduleExpressionError(`Invalid rate expression "${expr}": the value must be a positive integer`);
  const plural = match[3] === 's';
  if (value === 1 && plural) throw new ScheduleExpressionError(`Invalid rate expression "${expr}": a value of 1 takes the singular unit "${unit}"`);
  if (value > 1 && !plural) throw new ScheduleExpressionError(`Invalid rate expression "${expr}": a value above 1 takes the plural unit "${unit}s"`);
  return value * UNIT_MS[unit];
}

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59 };
const HOURS: FieldSpec = { name: 'hours', min: 0, max: 23 };
const DAYS_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTHS: FieldSpec = {
  name: 'month',
  min: 1,
  max: 12,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
};
const DAYS_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] };
const YEARS: FieldSpec = { name: 'year', min: 1970, max: 2199 };

function parseCron(body: string, expr: string): CronFields {
  const parts = body.split(' ');
  if (parts.length !== 6 || parts.some((p) => p === '')) {
    throw new ScheduleExpressionError(
      `Invalid cron expression "${expr}": expected six fields separated by single spaces (minutes hours day-of-month month day-of-week year)`,
    );
  }
  const [minutes, hours, dom, month, dow, year] = parts;
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleExpressionError(
      `Invalid cron expression "${expr}": exactly one of day-of-month and day-of-week must be "?"`,
    );
  }
  const field = (text: string, spec: FieldSpec) => parseField(text, spec, expr);
  return {
    minutes: field(minutes, MINUTES),
    hours: field(hours, HOURS),
    daysOfMonth: dom === '?' ? undefined : dayOfMonthRule(dom, field),
    months: field(month, MONTHS),
    daysOfWeek: dow === '?' ? undefined : dayOfWeekRule(dow.toUpperCase(), field),
    years: field(year, YEARS),
  };
}

function dayOfMonthRule(text: string, field: (text: string, spec: FieldSpec) => number[]): DayOfMonthRule {
  if (text === 'L') return { last: true };
  const nearest = /^(\d+)W$/.exec(text);
  if (nearest) return { nearestWeekdayTo: field(nearest[1]!, DAYS_OF_MONTH)[0]! };
  return { days: field(text, DAYS_OF_MONTH) };
}

function dayOfWeekRule(text: string, field: (text: string, spec: FieldSpec) => number[]): DayOfWeekRule {
  if (text === 'L') return { days: [DAYS_OF_WEEK.max] };
  const last = /^(\w+)L$/.exec(text);
  if (last) return { lastOfMonth: field(last[1]!, DAYS_OF_WEEK)[0]! };
  const nth = /^(\w+)#([1-5])$/.exec(text);
  if (nth) return { weekday: field(nth[1]!, DAYS_OF_WEEK)[0]!, nth: Number(nth[2]) };
  return { days: field(text, DAYS_OF_WEEK) };
}

/** One cron field: `*`, a value, a range `a-b`, a step `*\/n`, `a/n` or `a-b/n`, or a comma list of these. */
function parseField(text: string, spec: FieldSpec, expr: string): number[] {
  const fail = (reason: string): never => {
    throw new ScheduleExpressionError(`Invalid cron expression "${expr}": ${spec.name} field "${text}" ${reason}`);
  };
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [range, stepText, ...rest] = item.split('/');
    if (rest.length > 0) fail('has more than one "/"');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!/^\d+$/.test(stepText ?? '1') || step < 1) fail('has an invalid step');
    let from: number;
    let to: number;
    if (range === '*') {
      [from, to] = [spec.min, spec.max];
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2) fail('has an invalid range');
      from = value(bounds[0], spec, fail);
      // `a/n` runs from a to the end of the field.
      to = bounds.length === 2 ? value(bounds[1], spec, fail) : stepText === undefined ? from : spec.max;
      if (to < from) fail('has a range that ends before it starts');
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function value(text: string, spec: FieldSpec, fail: (reason: string) => never): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + spec.min;
  if (/[LW#]/i.test(text)) fail('uses L, W or # in a list, range or step, or outside the day fields');
  if (!/^\d+$/.test(text)) fail('is not a number, range, list or step');
  const n = Number(text);
  if (n < spec.min || n > spec.max) fail(`is outside ${spec.min}-${spec.max}`);
  return n;
}

/**
 * The first fire time strictly after `after`. A rate fires every `everyMs` from `after` (callers
 * pass the previous fire time to keep the cadence); a cron fires at matching UTC minutes.
 */
export function nextFireTime(parsed: ParsedSchedule, after: Date): Date {
  if (parsed.kind === 'rate') return new Date(after.getTime() + parsed.everyMs);
  const { fields } = parsed;
  // Start at the next whole minute.
  const start = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  const lastYear = fields.years[fields.years.length - 1];
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  for (; day.getUTCFullYear() <= lastYear; day.setUTCDate(day.getUTCDate() + 1)) {
    if (!dayMatches(fields, day)) continue;
    const sameDay = day.getTime() === Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
    for (const hour of fields.hours) {
      if (sameDay && hour < start.getUTCHours()) continue;
      for (const minute of fields.minutes) {
        if (sameDay && hour === start.getUTCHours() && minute < start.getUTCMinutes()) continue;
        return new Date(day.getTime() + hour * 3_600_000 + minute * 60_000);
      }
    }
  }
  throw new ScheduleExpressionError('The cron expression never fires again');
}

function dayMatches(fields: CronFields, day: Date): boolean {
  if (!fields.years.includes(day.getUTCFullYear())) return false;
  if (!fields.months.includes(day.getUTCMonth() + 1)) return false;
  if (fields.daysOfMonth && !dayOfMonthMatches(fields.daysOfMonth, day)) return false;
  if (fields.daysOfWeek && !dayOfWeekMatches(fields.daysOfWeek, day)) return false;
  return true;
}

const daysInMonth = (day: Date) => new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 0)).getUTCDate();

function dayOfMonthMatches(rule: DayOfMonthRule, day: Date): boolean {
  const date = day.getUTCDate();
  if ('days' in rule) return rule.days.includes(date);
  const lastDate = daysInMonth(day);
  if ('last' in rule) return date === lastDate;
  // The weekday nearest the given day, without leaving the month (as Quartz and EventBridge do).
  const target = rule.nearestWeekdayTo;
  if (target > lastDate) return false;
  const weekday = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), target)).getUTCDay();
  const shift = weekday === 6 ? (target === 1 ? 2 : -1) : weekday === 0 ? (target === lastDate ? -2 : 1) : 0;
  return date === target + shift;
}

function dayOfWeekMatches(rule: DayOfWeekRule, day: Date): boolean {
  const weekday = day.getUTCDay() + 1;
  if ('days' in rule) return rule.days.includes(weekday);
  if ('lastOfMonth' in rule) return weekday === rule.lastOfMonth && day.getUTCDate() + 7 > daysInMonth(day);
  return weekday === rule.weekday && Math.ceil(day.getUTCDate() / 7) === rule.nth;
}
