import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoDb } from '../../shared/adapters/dynamodb';
import { sqs } from '../../shared/adapters/sqs';
import { PendingStore } from '../../shared/batch/pending-store';
import { required, settings } from '../../shared/config';
import { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import { DoorbellQueue } from '../../shared/deliveries/queue';
import { DeliveryRepository } from '../../shared/deliveries/repository';
import { EventPins } from '../../shared/ingest/event-pins';
import { RejectedEventStore } from '../../shared/ingest/rejected-store';
import { orderingKey } from '../../shared/ingest/producer-event';
import { EventRouter, type RouteResult } from '../../shared/ingest/router';
import { logger } from '../../shared/observability/logger';
import { count, publishMetrics } from '../../shared/observability/metrics';
import { AccountWebhooksCache } from '../../shared/webhooks/cache';
import { WebhookRepository } from '../../shared/webhooks/repository';
import { METRICS } from '../../shared/wiring';

let container: { router: EventRouter; webhooks: AccountWebhooksCache } | undefined;

function build(): { router: EventRouter; webhooks: AccountWebhooksCache } {
  const config = settings();
  const db = dynamoDb();
  const deliveries = new DeliveryRepository(db, config.TABLE_NAME, config.DELIVERY_LOG_TTL_DAYS);
  const state = new BacklogStateStore(db, config.TABLE_NAME, new DoorbellQueue(sqs(), required('DELIVERY_QUEUE_URL')));
  const webhooks = new AccountWebhooksCache(new WebhookRepository(db, config.TABLE_NAME));
  const router = new EventRouter({
    webhooks,
    backlog: new DeliveryBacklog(deliveries, state),
    pending: new PendingStore(db, config.TABLE_NAME),
    rejected: new RejectedEventStore(db, config.TABLE_NAME),
    pins: new EventPins(db, config.TABLE_NAME),
    onRejected: () => count(METRICS.rejectedEvents),
  });
  return { router, webhooks };
}

/**
 * The ingest queue's consumer: each record is one producer event from the bus. A record that
 * fails (storage or queue trouble) is retried alone; rejected events are recorded, not failed.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  container ??= build();
  const { router: eventRouter, webhooks } = container;
  // Every webhook write before these events were put applies to them: each account's cached list is checked once per batch.
  webhooks.newBatch();
  // Accounts in parallel, each account's events one after another in record order, so they
  // enqueue for their webhooks in the order they arrived.
  const routed = new Map<string, Promise<RouteResult>>();
  const accountTails = new Map<string, Promise<unknown>>();
  for (const record of event.Records) {
    const key = orderingKey(record.body);
    const run = (accountTails.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => eventRouter.route(record.body));
    accountTails.set(key, run);
    routed.set(record.messageId, run);
  }
  const routeRecord = async (record: SQSRecord): Promise<void> => {
    const result = await routed.get(record.messageId)!;
    if (result.outcome === 'rejected') logger.warn('event rejected', { messageId: record.messageId, reason: result.reason });
  };
  const response = await processPartialResponse(event, routeRecord, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
  publishMetrics();
  return response;
}
