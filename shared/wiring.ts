/**
 * How the parts are wired together: the event rule, the queues and the schedule. The CDK
 * constructs and the local runtime (`infra/local/`) both build from these objects, so the local
 * service behaves like the deployed one.
 */

/** Producers put events with this Source; the service's own notices use NOTICE_SOURCE. */
export const EVENT_SOURCE = 'lms';
export const NOTICE_SOURCE = 'lms.webhooks';
export const WEBHOOK_DISABLED_NOTICE = 'WEBHOOK_DISABLED';
/** A webhook's head delivery has failed for half of the retry window: it will be disabled if this goes on. */
export const WEBHOOK_FAILING_NOTICE = 'WEBHOOK_FAILING';

/**
 * Every producer event goes to the router, known name or not: an unknown name is kept as a
 * rejected event with its reason rather than silently never matching a rule.
 */
export const INGEST_EVENT_PATTERN = { source: [EVENT_SOURCE] } as const;

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

/**
 * A batch flush that runs out of time asks for a continuation run with this event on the service
 * bus; a rule with this pattern sends it to the aggregator, next to the schedule. Its own Source
 * keeps it apart from the notices that outside consumers subscribe to.
 */
export const INTERNAL_SOURCE = `${NOTICE_SOURCE}.internal`;
/** Every Source the service puts on its bus starts so; the bus refuses them from anyone else. */
export const SERVICE_SOURCES_PATTERN = `${NOTICE_SOURCE}*`;
export const BATCH_CONTINUATION = 'BATCH_FLUSH_CONTINUATION';
export const BATCH_CONTINUATION_EVENT_PATTERN = { source: [INTERNAL_SOURCE], 'detail-type': [BATCH_CONTINUATION] } as const;

export const API_FUNCTION = { timeoutSeconds: 15, memoryMb: 512 } as const;

/**
 * `POST /webhooks/{id}/test` waits for the listener inside an API request, so its limits are
 * tighter than a delivery's (10 s + 5 s): together with the table writes around it, the request
 * ends well inside the API function's timeout with the listener's outcome, not a gateway error.
 */
export const TEST_REQUEST_TIMEOUTS = { connectTimeoutMs: 4_000, responseTimeoutMs: 5_000 } as const;

/** CloudWatch metrics (Powertools EMF) that the alarms watch. */
export const METRICS = {
  namespace: 'LmsWebhooks',
  service: 'lms-webhooks',
  deliveryAttempts: 'DeliveryAttempts',
  deliveryFailures: 'DeliveryFailures',
  rejectedEvents: 'RejectedEvents',
  webhooksDisabled: 'WebhooksDisabled',
  /** Published by the sweeper: how long the most overdue doorbell has been waiting. */
  oldestDueBacklogSeconds: 'OldestDueBacklogSeconds',
  doorbellsRungAgain: 'DoorbellsRungAgain',
} as const;
