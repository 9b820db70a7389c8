import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { accountWebhooks, router } from '../../shared/container';
import { orderingKey } from '../../shared/ingest/producer-event';
import { logger } from '../../shared/observability/logger';
import { lambdaHandler } from '../../shared/observability/middleware';

/**
 * The ingest queue's consumer: each record is one producer event from the bus. A record that
 * fails (storage or queue trouble) is retried, with the rest of its account's records (they share
 * one backlog-state update); rejected events are recorded, not failed.
 */
async function route(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // Every webhook write before these events were put applies to them: each account's cached list is checked once per batch.
  accountWebhooks().newBatch(accountIdsOf(event.Records));
  const routed = router().routeBatch(event.Records.map((record) => ({ id: record.messageId, body: record.body })));
  const routeRecord = async (record: SQSRecord): Promise<void> => {
    const result = await routed.get(record.messageId)!;
    if (result.outcome === 'rejected') logger.warn('event rejected', { messageId: record.messageId, reason: result.reason });
  };
  return processPartialResponse(event, routeRecord, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
}

/** The batch's accounts, read cheaply from the raw messages (unparseable ones have none). */
function accountIdsOf(records: readonly SQSRecord[]): number[] {
  const ids = new Set(records.map((record) => Number(orderingKey(record.body))));
  return [...ids].filter((id) => Number.isSafeInteger(id) && id > 0);
}

export const handler = lambdaHandler(route);
