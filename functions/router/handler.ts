import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { accountWebhooks, router } from '../../shared/container';
import { orderingKey } from '../../shared/ingest/producer-event';
import type { RouteResult } from '../../shared/ingest/router';
import { logger } from '../../shared/observability/logger';
import { lambdaHandler } from '../../shared/observability/middleware';

/**
 * The ingest queue's consumer: each record is one producer event from the bus. A record that
 * fails (storage or queue trouble) is retried alone; rejected events are recorded, not failed.
 */
async function route(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // Every webhook write before these events were put applies to them: each account's cached list is checked once per batch.
  accountWebhooks().newBatch();
  const eventRouter = router();
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
  return processPartialResponse(event, routeRecord, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
}

export const handler = lambdaHandler(route);
