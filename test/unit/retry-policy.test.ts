import { MAX_DELAY_SECONDS, nextRetry, type RetryInput } from '../../shared/dispatch/retry-policy';

const DELAYS = [5, 10, 20, 40, 80, 160, 300];
const WEEK = 7 * 24 * 3600;
const ARRIVED = Date.UTC(2026, 0, 1);

const at = (attempt: number, overrides: Partial<RetryInput> = {}): ReturnType<typeof nextRetry> =>
  nextRetry({ attempt, firstArrivedAt: ARRIVED, now: ARRIVED + 60_000, delaysSeconds: DELAYS, windowSeconds: WEEK, ...overrides });

describe('nextRetry', () => {
  it('follows the schedule, then repeats its last delay', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 100].map((attempt) => at(attempt));
    expect(delays.map((d) => (d.retry ? d.delaySeconds : d.reason))).toEqual([5, 10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it('says when the next attempt is due', () => {
    const now = ARRIVED + 123_456;
    expect(at(3, { now })).toEqual({ retry: true, delaySeconds: 20, nextAttemptAt: now + 20_000 });
  });

  describe('Retry-After', () => {
    it('waits longer when the listener asks for it', () => {
      expect(at(1, { retryAfterSeconds: 120 })).toMatchObject({ delaySeconds: 120 });
    });

    it('never waits less than the schedule says', () => {
      expect(at(4, { retryAfterSeconds: 1 })).toMatchObject({ delaySeconds: 40 });
      expect(at(4, { retryAfterSeconds: 0 })).toMatchObject({ delaySeconds: 40 });
    });

    it('never waits longer than the schedule’s longest delay', () => {
      expect(at(1, { retryAfterSeconds: 86_400 })).toMatchObject({ delaySeconds: 300 });
      expect(at(9, { retryAfterSeconds: 301 })).toMatchObject({ delaySeconds: 300 });
    });

    it('rounds a fractional value up to whole seconds', () => {
      expect(at(1, { retryAfterSeconds: 12.2 })).toMatchObject({ delaySeconds: 13 });
    });

    it('ignores a value that is not a number', () => {
      expect(at(2, { retryAfterSeconds: Number.NaN })).toMatchObject({ delaySeconds: 10 });
    });
  });

  describe('the retry window', () => {
    const windowEnd = ARRIVED + WEEK * 1000;

    it('retries normally while the next attempt lands inside the window', () => {
      expect(at(50, { now: windowEnd - 300_000 })).toEqual({ retry: true, delaySeconds: 300, nextAttemptAt: windowEnd });
    });

    it('shortens the last retry to land exactly on the window end', () => {
      expect(at(50, { now: windowEnd - 120_000 })).toEqual({ retry: true, delaySeconds: 120, nextAttemptAt: windowEnd });
    });

    it('rounds a shortened retry down, so it never lands past the end', () => {
      const decision = at(50, { now: windowEnd - 1_500 });
      expect(decision).toEqual({ retry: true, delaySeconds: 1, nextAttemptAt: windowEnd - 500 });
    });

    it('also shortens a Retry-After wait at the window end', () => {
      expect(at(1, { now: windowEnd - 30_000, retryAfterSeconds: 200 })).toMatchObject({ delaySeconds: 30 });
    });

    it.each([
      ['less than a second left', windowEnd - 999],
      ['exactly at the end', windowEnd],
      ['after the end', windowEnd + 3_600_000],
    ])('gives up with %s', (_, now) => {
      expect(at(50, { now })).toEqual({ retry: false, reason: `retry window of ${WEEK} s has ended` });
    });

    it('keeps a 7-day window busy with about 2,000 attempts at the default schedule', () => {
      let now = ARRIVED;
      let attempt = 1;
      for (;;) {
        const decision = nextRetry({ attempt, firstArrivedAt: ARRIVED, now, delaysSeconds: DELAYS, windowSeconds: WEEK });
        if (!decision.retry) break;
        expect(decision.nextAttemptAt).toBeLessThanOrEqual(windowEnd);
        now = decision.nextAttemptAt;
        attempt++;
      }
      expect(now).toBe(windowEnd);
      expect(attempt).toBeGreaterThan(2_000);
      expect(attempt).toBeLessThan(2_030);
    });
  });

  it('never asks for more than SQS allows as a visibility timeout', () => {
    const decision = nextRetry({
      attempt: 1,
      firstArrivedAt: ARRIVED,
      now: ARRIVED,
      delaysSeconds: [86_400],
      windowSeconds: WEEK,
    });
    expect(decision).toMatchObject({ retry: true, delaySeconds: MAX_DELAY_SECONDS });
  });

  it.each([0, -1, 1.5])('rejects attempt %p as a programming error', (attempt) => {
    expect(() => at(attempt)).toThrow(RangeError);
  });

  it('rejects an empty schedule as a programming error', () => {
    expect(() => at(1, { delaysSeconds: [] })).toThrow(RangeError);
  });
});
