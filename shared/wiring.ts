/**
 * How the parts are wired together: the event rule, the queues and the schedule. The CDK
 * constructs and the local runtime (`infra/local/`) both build from these objects, so the local
 * service behaves like the deployed one.
 */

/** Producers put events with this Source; the service's own notices use NOTICE_SOURCE. */
export const EVENT_SOURCE = 'lms';
export const NOTICE_SOURCE = 'lms.webhooks';
export const WEBHOOK_DISABLED_NOTICE = 'WEBHOOK_DISABLED';

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
 * The delivery queue is FIFO, grouped per webhook: one in-flight message per webhook keeps its
 * requests serial and in order. Retries hold the message with ChangeMessageVisibility, so the
 * group stays blocked while it waits. The 7-day retry window needs ~2,000 receives (every 300 s),
 * more than SQS's maxReceiveCount cap of 1,000 — so giving up is the handler's decision (from the
 * attempt history in DynamoDB), and the handler itself moves poison or crash-looping messages to
 * the DLQ. Retention is SQS's maximum, comfortably beyond the window.
 */
export const DELIVERY_QUEUE = {
  /** Covers a full batch of 10 serial requests at (10 s connect + 5 s response) each. */
  visibilityTimeoutSeconds: 180,
  retentionSeconds: 14 * 24 * 3600,
  batchSize: 10,
  dlqRetentionSeconds: 14 * 24 * 3600,
  /** Receives beyond recorded attempts before a message counts as crash-looping and is dead-lettered. */
  maxReceivesWithoutAttempt: 10,
} as const;

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
} as const;
