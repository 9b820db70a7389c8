/**
 * The one table's key design, shared by the CDK storage construct and the local runtime so both
 * create the same table.
 *
 * Single-table layout (pk / sk):
 * - `ACCOUNT#<accountId>` / `WEBHOOK#<webhookId>`: a webhook. Keyed by account so every read is
 *   scoped to the caller's account (another account's webhook is simply not found) and one Query
 *   lists an account's handful of webhooks, which is also what the router needs per event.
 * - `ACCOUNT#<accountId>` / `LIMITS`: the account's webhook counter, updated in the same
 *   transaction as a create or delete so the per-account limit holds under concurrency.
 * - `WEBHOOK#<webhookId>` / `DELIVERY#<deliveryId>`: the delivery log, which is also the webhook's
 *   ordered backlog. Delivery ids start with the (first) event's time, so a Query reads the backlog
 *   oldest first and the log newest first, without an index.
 * - `ACCOUNT#<accountId>` / `BACKLOG`: the backlog state of each of the account's webhooks — where
 *   its backlog starts (the drain's cursor) and its doorbell's state (see
 *   shared/deliveries/backlog.ts); in the GSI as `DOORBELL#<shard>` / `<when a doorbell is due>`
 *   while any is rung, so the sweeper finds overdue doorbells without a scan.
 * - `PENDING#<webhookId>` / `EVENT#<timestamp>#<arrival>#<eventId>`: a batch event waiting for the
 *   aggregator. The sort key orders a webhook's backlog by event time, then arrival.
 * - `PENDING#<webhookId>` / `SEEN#<eventId>`: makes adding a batch event idempotent (expires).
 * - `PENDING#<webhookId>` / `DUE`: the webhook has pending batch events — their count, the flush
 *   lease, and the GSI keys `BATCH_DUE#<shard>` / `<firstPendingAt>#<webhookId>` through which the
 *   aggregator finds due webhooks without a scan. Deleted when the backlog is drained.
 * - `BATCH` / `LAST_RUN`: when the batch schedule last fired with work to do (the "next flush" anchor).
 * The GSI (`gsi1pk` / `gsi1sk`) is sparse: only items that set its keys appear in it (FAILED,
 * SKIPPED and HELD deliveries for the log's status filter and the held count, rung doorbells, pending batch work), and it
 * projects keys and the few attributes its readers need, never payloads.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: [{ indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projectedAttributes: ['webhookId', 'accountId', 'leaseUntil'] }],
} as const;

export const keys = {
  account: (accountId: number) => `ACCOUNT#${accountId}`,
  webhook: (webhookId: string) => `WEBHOOK#${webhookId}`,
  limits: 'LIMITS',
  delivery: (deliveryId: string) => `DELIVERY#${deliveryId}`,
  /** A webhook's hourly delivery counters (see shared/deliveries/health.ts). */
  health: 'HEALTH',
  replay: (replayId: string) => `REPLAY#${replayId}`,
  /** The timestamp pinned to a real-time event that came without one (see shared/ingest/event-pins.ts). */
  eventPin: (accountId: number, eventId: string) => ({ pk: `EVENT#${accountId}#${eventId}`, sk: 'PIN' }),
  /** Rejected events of one day (see shared/ingest/rejected-store.ts). */
  rejected: (day: string) => `REJECTED#${day}`,
} as const;

/** The delivery log's keys beyond `keys.delivery` (see shared/deliveries/store.ts). */
export const deliveryKeys = {
  byStatus: (webhookId: string, status: string) => `WEBHOOK#${webhookId}#STATUS#${status}`,
  /** The sort key just above every delivery's. */
  end: 'DELIVERY#~',
};

/** The account's backlog state item (see shared/deliveries/backlog.ts). */
export const backlogKeys = {
  state: 'BACKLOG',
  doorbellIndex: (shard: number) => `DOORBELL#${shard}`,
};

/** The key of an account's backlog state item (read together with a webhook by the drain). */
export function backlogStateKey(accountId: number): { pk: string; sk: string } {
  return { pk: keys.account(accountId), sk: backlogKeys.state };
}

/** One webhook's fields in its account's backlog state item: seq, rung, wake, cursor, progress, replays. */
export type BacklogField = 's' | 'r' | 'k' | 'c' | 'p' | 'q';
export const BACKLOG_FIELDS: readonly BacklogField[] = ['s', 'r', 'k', 'c', 'p', 'q'];

/**
 * A webhook's field in the state item is named by the id's last 16 characters (80 random bits),
 * not the whole id: the names are most of the item's size, and a smaller item costs fewer units
 * on every write of it.
 */
export function backlogAttribute(field: BacklogField, webhookId: string): string {
  return backlogKeyAttribute(field, backlogWebhookKey(webhookId));
}

/** A field's name from the webhook's key in the item (what the sweeper reads back). */
export function backlogKeyAttribute(field: BacklogField, webhookKey: string): string {
  return `${field}#${webhookKey}`;
}

export function backlogWebhookKey(webhookId: string): string {
  return webhookId.slice(-16);
}

/** Batch events waiting for the aggregator (see shared/batch/pending-store.ts). */
export const pendingKeys = {
  partition: (webhookId: string) => `PENDING#${webhookId}`,
  eventPrefix: 'EVENT#',
  seen: (eventId: string) => `SEEN#${eventId}`,
  due: 'DUE',
  dueIndex: (shard: number) => `BATCH_DUE#${shard}`,
  lastRun: { pk: 'BATCH', sk: 'LAST_RUN' },
} as const;
