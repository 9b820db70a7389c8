import * as z from 'zod';
import type { LmsEvent } from '../events/envelope';
import type { DeliveryKind as EventDeliveryKind } from '../events/catalogue';

/**
 * A delivery: one request's worth of events for one webhook (one event in real time, up to
 * BATCH_MAX_EVENTS for batches), with its attempts. The delivery id is the `webhook-id` header, the
 * same on every retry, so listeners can dedupe on it. HELD: written while its webhook was DISABLED,
 * kept in the backlog's order until the webhook is re-enabled (see ./held.ts).
 */
export const DELIVERY_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'HELD'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** How the catalogue delivers the event (real time or batch), or the test request's own kind. */
export type DeliveryKind = EventDeliveryKind | 'test';

/**
 * What the log keeps of a listener's answer, and of how many attempts: the history lives in the
 * delivery item, and DynamoDB bills each attempt's write by the item's size, so both are bounded.
 */
export const STORED_RESPONSE_BYTES = 1024;
export const STORED_ATTEMPTS = 10;

export interface Attempt {
  readonly number: number;
  readonly at: string;
  readonly statusCode?: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly responseBody?: string;
}

export interface Delivery {
  readonly id: string;
  readonly webhookId: string;
  readonly accountId: number;
  readonly kind: DeliveryKind;
  readonly status: DeliveryStatus;
  readonly statusReason?: string;
  readonly events: readonly LmsEvent[];
  readonly attemptCount: number;
  /** Epoch ms the delivery's (first) event arrived, or it was redelivered: the retry window counts from here. */
  readonly firstArrivedAt: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly nextAttemptAt?: string;
  readonly redeliveries: number;
  /** The latest attempts (at most STORED_ATTEMPTS), oldest first; `attemptCount` counts them all. */
  readonly attempts: readonly Attempt[];
  /** A replay's copy: the original delivery (its id is the `webhook-id` sent) and the replay. */
  readonly replayOf?: { readonly deliveryId: string; readonly replayId: string };
}

export const AttemptViewSchema = z.object({
  number: z.number().int(),
  at: z.string(),
  statusCode: z.number().int().optional(),
  durationMs: z.number(),
  error: z.string().optional(),
  responseBody: z.string().optional(),
});

export const DeliveryViewSchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  kind: z.enum(['realtime', 'batch', 'test']),
  status: z.enum(DELIVERY_STATUSES),
  statusReason: z.string().optional(),
  eventIds: z.array(z.string()),
  attemptCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  nextAttemptAt: z.string().optional(),
  /** A replay's copy: the original delivery, whose id it is sent with as `webhook-id`, and the replay. */
  replayOf: z.object({ deliveryId: z.string(), replayId: z.string() }).optional(),
});
export type DeliveryView = z.infer<typeof DeliveryViewSchema>;

export const DeliveryDetailViewSchema = DeliveryViewSchema.extend({
  /** One page of attempts, oldest first (`limit`: 1–100, default 100). */
  attempts: z.array(AttemptViewSchema),
  /** Pass as `nextToken` for the next page of attempts. */
  attemptsNextToken: z.string().optional(),
});
export type DeliveryDetailView = z.infer<typeof DeliveryDetailViewSchema>;

export function toDeliveryView(delivery: Delivery): DeliveryView {
  return {
    id: delivery.id,
    webhookId: delivery.webhookId,
    kind: delivery.kind,
    status: delivery.status,
    ...(delivery.statusReason !== undefined && { statusReason: delivery.statusReason }),
    eventIds: delivery.events.map((e) => e.eventId),
    attemptCount: delivery.attemptCount,
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
    ...(delivery.status === 'PENDING' && delivery.nextAttemptAt !== undefined && { nextAttemptAt: delivery.nextAttemptAt }),
    ...(delivery.replayOf && { replayOf: { ...delivery.replayOf } }),
  };
}

export function truncateResponse(body: string | undefined): string | undefined {
  if (body === undefined) return undefined;
  const bytes = Buffer.from(body, 'utf8');
  if (bytes.length <= STORED_RESPONSE_BYTES) return body;
  // Cut on a character boundary: drop a trailing partial UTF-8 sequence.
  return bytes.subarray(0, STORED_RESPONSE_BYTES).toString('utf8').replace(/\uFFFD$/, '');
}

/**
 * The delivery queue's message: a doorbell saying "this webhook's backlog has work". The backlog
 * itself (order, payloads, what is still due) lives in DynamoDB.
 */
export const DoorbellSchema = z.strictObject({
  accountId: z.number().int().positive(),
  webhookId: z.string().min(1).max(64),
});
export type Doorbell = z.infer<typeof DoorbellSchema>;
