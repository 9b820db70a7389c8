/**
 * The one retry schedule, used by the AWS delivery function and the local runtime alike. Delays
 * are whole seconds because they become SQS visibility timeouts.
 */
export interface RetryInput {
  /** Attempts made so far (≥ 1). */
  readonly attempt: number;
  /** Epoch ms the (first) event of the delivery arrived; the window counts from here. */
  readonly firstArrivedAt: number;
  /** Epoch ms now. */
  readonly now: number;
  /** From a 429 / 503 response's Retry-After header. */
  readonly retryAfterSeconds?: number;
  /** Attempt n waits delaysSeconds[n-1]; the last value repeats. */
  readonly delaysSeconds: readonly number[];
  readonly windowSeconds: number;
}

export type RetryDecision =
  | { readonly retry: true; readonly delaySeconds: number; readonly nextAttemptAt: number }
  | { readonly retry: false; readonly reason: string };

/** SQS refuses a visibility timeout above 12 hours. */
export const MAX_DELAY_SECONDS = 12 * 3600;

/**
 * When to try again, or that it is time to give up.
 * - Retry-After is honoured within the schedule's bounds: never sooner than the scheduled delay
 *   (a listener cannot make us hammer it), never later than the schedule's longest delay (a
 *   listener cannot park its deliveries for days).
 * - No attempt is scheduled past the window end. When the next delay would overshoot it, the last
 *   retry is shortened to land on the end (whole seconds, rounded down), so a listener that comes
 *   back late still gets a final try; with less than a second left there is no retry.
 */
export function nextRetry(input: RetryInput): RetryDecision {
  const { attempt, firstArrivedAt, now, retryAfterSeconds, delaysSeconds, windowSeconds } = input;
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  if (delaysSeconds.length === 0) throw new RangeError('delaysSeconds must not be empty');

  const windowEnd = firstArrivedAt + windowSeconds * 1000;
  const remainingSeconds = Math.floor((windowEnd - now) / 1000);
  if (remainingSeconds < 1) return { retry: false, reason: `retry window of ${windowSeconds} s has ended` };

  const scheduled = delaysSeconds[Math.min(attempt, delaysSeconds.length) - 1]!;
  const longest = Math.max(...delaysSeconds);
  const asked = retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) ? Math.ceil(retryAfterSeconds) : 0;
  const wanted = Math.min(Math.max(scheduled, Math.min(asked, longest)), MAX_DELAY_SECONDS);
  const delaySeconds = Math.min(wanted, remainingSeconds);
  return { retry: true, delaySeconds, nextAttemptAt: now + delaySeconds * 1000 };
}
