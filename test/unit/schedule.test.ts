import { nextFireTime, parseScheduleExpression, ScheduleExpressionError } from '../../shared/schedule';

const aws = { allowSeconds: false };
const local = { allowSeconds: true };
const at = (iso: string) => new Date(iso);

describe('rate expressions', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(15 minutes)', 900_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(2 hours)', 7_200_000],
    ['rate(1 day)', 86_400_000],
    ['rate(7 days)', 604_800_000],
  ])('%s fires every %d ms', (expr, everyMs) => {
    expect(parseScheduleExpression(expr, aws)).toEqual({ kind: 'rate', everyMs });
  });

  it.each(['rate(1 minutes)', 'rate(5 minute)', 'rate(0 minutes)', 'rate(-1 minutes)', 'rate(1.5 hours)', 'rate(5 weeks)', 'rate(5  minutes)', 'rate()'])(
    'rejects %s',
    (expr) => {
      expect(() => parseScheduleExpression(expr, aws)).toThrow(ScheduleExpressionError);
    },
  );

  it('says why a unit does not agree with its value', () => {
    expect(() => parseScheduleExpression('rate(1 minutes)', aws)).toThrow(/singular unit "minute"/);
    expect(() => parseScheduleExpression('rate(5 hour)', aws)).toThrow(/plural unit "hours"/);
  });

  it('accepts seconds only for the local runtime', () => {
    expect(parseScheduleExpression('rate(1 second)', local)).toEqual({ kind: 'rate', everyMs: 1000 });
    expect(parseScheduleExpression('rate(30 seconds)', local)).toEqual({ kind: 'rate', everyMs: 30_000 });
    expect(() => parseScheduleExpression('rate(30 seconds)', aws)).toThrow(/minute\(s\), hour\(s\) or day\(s\)/);
    expect(() => parseScheduleExpression('rate(1 seconds)', local)).toThrow(ScheduleExpressionError);
  });

  it('fires a period after the given time', () => {
    const parsed = parseScheduleExpression('rate(15 minutes)', aws);
    expect(nextFireTime(parsed, at('2025-03-01T10:07:30Z'))).toEqual(at('2025-03-01T10:22:30Z'));
  });
});

describe('cron expressions', () => {
  it('fires on values, lists, ranges, steps, names and ?', () => {
    const officeQuarters = parseScheduleExpression('cron(0/15 9-17 ? JAN,MAR MON-FRI *)', aws);
    // 2025-01-31 is a Friday; February is skipped.
    expect(nextFireTime(officeQuarters, at('2025-01-31T17:45:00Z'))).toEqual(at('2025-03-03T09:00:00Z'));
    const everyOtherDay = parseScheduleExpression('cron(5 */6 1-31/2 * ? 2030-2031)', aws);
    expect(nextFireTime(everyOtherDay, at('2029-06-01T00:00:00Z'))).toEqual(at('2030-01-01T00:05:00Z'));
    expect(nextFireTime(everyOtherDay, at('2030-01-01T18:05:00Z'))).toEqual(at('2030-01-03T00:05:00Z'));
  });

  it('fires on the L, W and # forms EventBridge accepts', () => {
    const lastDay = parseScheduleExpression('cron(0 12 L * ? *)', aws);
    expect(nextFireTime(lastDay, at('2028-02-10T00:00:00Z'))).toEqual(at('2028-02-29T12:00:00Z'));
    // 2025-03-15 is a Saturday: the nearest weekday is Friday the 14th.
    const nearestWeekday = parseScheduleExpression('cron(0 9 15W * ? *)', aws);
    expect(nextFireTime(nearestWeekday, at('2025-03-01T00:00:00Z'))).toEqual(at('2025-03-14T09:00:00Z'));
    const thirdFriday = parseScheduleExpression('cron(30 8 ? * 6#3 *)', aws);
    expect(nextFireTime(thirdFriday, at('2025-03-01T00:00:00Z'))).toEqual(at('2025-03-21T08:30:00Z'));
    const lastFriday = parseScheduleExpression('cron(0 0 ? * 6L *)', aws);
    expect(nextFireTime(lastFriday, at('2025-03-01T00:00:00Z'))).toEqual(at('2025-03-28T00:00:00Z'));
  });

  it.each([
    ['cron(0 12 * * * *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 12 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 12 * *)', /six fields/],
    ['cron(60 12 * * ? *)', /minutes field "60" is outside 0-59/],
    ['cron(0 24 * * ? *)', /hours field "24" is outside 0-23/],
    ['cron(0 12 0 * ? *)', /day-of-month field "0"/],
    ['cron(0 12 ? * 8 *)', /day-of-week field "8"/],
    ['cron(0 12 * 13 ? *)', /month field "13"/],
    ['cron(0 12 L,15 * ? *)', /L, W or # in a list, range or step/],
    ['cron(0 12 32W * ? *)', /day-of-month field "32" is outside 1-31/],
    ['cron(0 12 ? * 8#1 *)', /day-of-week field "8" is outside 1-7/],
    ['cron(0 12 ? * 6#6 *)', /day-of-week field "6#6"/],
    ['cron(5L 12 * * ? *)', /minutes field "5L"/],
    ['cron(0 12 5-1 * ? *)', /ends before it starts/],
    ['cron(0/0 12 * * ? *)', /invalid step/],
    ['cron(x 12 * * ? *)', /not a number/],
    ['every day', /expected rate/],
  ])('rejects %s', (expr, message) => {
    expect(() => parseScheduleExpression(expr, aws)).toThrow(message);
  });

  it('finds the next matching UTC minute', () => {
    const noonWeekdays = parseScheduleExpression('cron(0 12 ? * MON-FRI *)', aws);
    // 2025-03-07 is a Friday.
    expect(nextFireTime(noonWeekdays, at('2025-03-07T11:59:59Z'))).toEqual(at('2025-03-07T12:00:00Z'));
    expect(nextFireTime(noonWeekdays, at('2025-03-07T12:00:00Z'))).toEqual(at('2025-03-10T12:00:00Z'));

    const quarterHours = parseScheduleExpression('cron(0/15 * * * ? *)', aws);
    expect(nextFireTime(quarterHours, at('2025-03-07T23:50:00Z'))).toEqual(at('2025-03-08T00:00:00Z'));

    const firstOfMonth = parseScheduleExpression('cron(30 1 1 * ? *)', aws);
    expect(nextFireTime(firstOfMonth, at('2025-12-15T00:00:00Z'))).toEqual(at('2026-01-01T01:30:00Z'));

    const leapDay = parseScheduleExpression('cron(0 0 29 FEB ? *)', aws);
    expect(nextFireTime(leapDay, at('2025-01-01T00:00:00Z'))).toEqual(at('2028-02-29T00:00:00Z'));
  });

  it('reports a cron that has no future fire time', () => {
    const past = parseScheduleExpression('cron(0 0 1 1 ? 2020)', aws);
    expect(() => nextFireTime(past, at('2025-01-01T00:00:00Z'))).toThrow(/never fires again/);
  });
});
