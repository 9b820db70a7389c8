/**
 * How the parts are sized and scheduled: the queues, the functions and the sweeper. The CDK
 * constructs and the local runtime (`infra/local/`) both build from these objects, so the local
 * service behaves like the deployed one. The bus's Sources and patterns are in events/sources.ts,
 * the metric names in observability/metric-names.ts.
 */

export const INGEST_QUEUE = {
  /** Router timeout × 6, as AWS advises for SQS event sources. */
  visibilityTimeoutSeconds: 180,
  retentionSeconds: 4 * 24 * 3600,
  /** After this many failed receives an ingest message moves to the ingest DLQ. */
  maxReceiveCount: 5,
  batchSize: 10,
  dlqRetentionSeconds: 14 * 24 * 3600,
} as const;

export const ROUTER_FUNCTION = { timeoutSeconds: 30, memoryMb: 512 } as const;

/**
 * The delivery queue is FIFO, grouped per webhook, and holds at most one message per webhook: a
 * doorbell saying its backlog (in DynamoDB) has work. A drain waiting for a retry holds the doorbell
 * with ChangeMessageVisibility. Giving up is decided from each delivery's own history, and crash
 * loops from progress recorded in DynamoDB, so the queue needs no redrive policy (the 7-day window
 * would need ~2,000 receives, above SQS's maxReceiveCount cap of 1,000); the handler moves messages
 * that are not doorbells to the DLQ itself. High-throughput FIFO: limits per message group.
 */
export const DELIVERY_QUEUE = {
  /** Covers a drain up to the function's timeout. */
  visibilityTimeoutSeconds: 180,
  retentionSeconds: 14 * 24 * 3600,
  batchSize: 10,
  dlqRetentionSeconds: 14 * 24 * 3600,
  /** Receives of one doorbell with no progress recorded before its backlog's head counts as crash-looping. */
  maxReceivesWithoutProgress: 10,
} as const;

/**
 * The sweeper re-rings every webhook whose doorbell is overdue: due, but not answered within this
 * long (a lost message, a crashed drain). Longer than a drain can run (the delivery function's
 * timeout), so a drain in progress is not rung again.
 */
export const SWEEPER = {
  schedule: 'rate(1 minute)',
  overdueAfterSeconds: 240,
} as const;

export const SWEEPER_FUNCTION = { timeoutSeconds: 60, memoryMb: 256 } as const;

export const DELIVERY_FUNCTION = { timeoutSeconds: 170, memoryMb: 512 } as const;

export const AGGREGATOR_FUNCTION = { timeoutSeconds: 300, memoryMb: 512 } as const;

export const API_FUNCTION = { timeoutSeconds: 15, memoryMb: 512 } as const;

/**
 * `POST /webhooks/{id}/test` waits for the listener inside an API request, so its limits are
 * tighter than a delivery's (10 s + 5 s): together with the table writes around it, the request
 * ends well inside the API function's timeout with the listener's outcome, not a gateway error.
 */
export const TEST_REQUEST_TIMEOUTS = { connectTimeoutMs: 4_000, responseTimeoutMs: 5_000 } as const;
