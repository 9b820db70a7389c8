import * as z from 'zod';

/** A webhook's health as `GET /webhooks/{id}` shows it (no Node imports: the console shares the type). */
export const HealthViewSchema = z.object({
  /** Attempts in the last 24 h (by hour) that the listener accepted, as a fraction; absent with no attempts. */
  successRate24h: z.number().min(0).max(1).optional(),
  attempts24h: z.number().int().nonnegative(),
  lastSuccessAt: z.string().optional(),
  lastFailureAt: z.string().optional(),
  /** Deliveries not sent yet: due or being retried (PENDING) and held for a DISABLED webhook (HELD). */
  undelivered: z.number().int().nonnegative(),
  /** True when there are more PENDING deliveries than one read of the backlog counts: `undelivered` is a lower bound. */
  undeliveredAtLeast: z.boolean().optional(),
  /** The event time of the oldest undelivered delivery (ISO 8601), and its age in seconds. */
  oldestUndeliveredEventAt: z.string().optional(),
  oldestUndeliveredAgeSeconds: z.number().int().nonnegative().optional(),
});
export type HealthView = z.infer<typeof HealthViewSchema>;

/** The attempt counters of the last 24 h (see ./health.ts). */
export interface AttemptCounts {
  readonly attempts24h: number;
  readonly succeeded24h: number;
  readonly lastSuccessAt?: string;
  readonly lastFailureAt?: string;
}

/** The health view from the counters, the backlog's PENDING head, and what is held. */
export function healthView(
  counts: AttemptCounts,
  pending: { count: number; atLeast: boolean; oldestEventAt?: number },
  held: { heldDeliveries: number; oldestHeldEventAt?: string },
  now: Date,
): HealthView {
  const oldest = Math.min(
    pending.oldestEventAt ?? Infinity,
    held.oldestHeldEventAt !== undefined ? Date.parse(held.oldestHeldEventAt) : Infinity,
  );
  return {
    ...(counts.attempts24h > 0 && { successRate24h: counts.succeeded24h / counts.attempts24h }),
    attempts24h: counts.attempts24h,
    ...(counts.lastSuccessAt !== undefined && { lastSuccessAt: counts.lastSuccessAt }),
    ...(counts.lastFailureAt !== undefined && { lastFailureAt: counts.lastFailureAt }),
    undelivered: pending.count + held.heldDeliveries,
    ...(pending.atLeast && { undeliveredAtLeast: true }),
    ...(Number.isFinite(oldest) && {
      oldestUndeliveredEventAt: new Date(oldest).toISOString(),
      oldestUndeliveredAgeSeconds: Math.max(0, Math.floor((now.getTime() - oldest) / 1000)),
    }),
  };
}
