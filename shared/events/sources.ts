/**
 * The Sources and detail types the service's bus carries, and the rule patterns that route them:
 * read by the CDK constructs and the local event bus alike.
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

/**
 * A batch flush that runs out of time asks for a continuation run with this event on the service
 * bus; a rule with this pattern sends it to the aggregator, next to the schedule. Its own Source
 * keeps it apart from the notices that outside consumers subscribe to.
 */
export const INTERNAL_SOURCE = `${NOTICE_SOURCE}.internal`;
/** Every Source the service puts on its bus starts so; the bus refuses them from anyone else. */
export const SERVICE_SOURCES_PATTERN = `${NOTICE_SOURCE}*`;
/** Whether SERVICE_SOURCES_PATTERN matches the Source. */
export function isServiceSource(source: string): boolean {
  return source.startsWith(NOTICE_SOURCE);
}
export const BATCH_CONTINUATION = 'BATCH_FLUSH_CONTINUATION';
export const BATCH_CONTINUATION_EVENT_PATTERN = { source: [INTERNAL_SOURCE], 'detail-type': [BATCH_CONTINUATION] } as const;
