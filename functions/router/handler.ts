import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { router } from '../../shared/container';
import { logger } from '../../shared/observability/logger';
import { lambdaHandler } from '../../shared/observability/middleware';

/**
 * The ingest queue's consumer: each record is one producer event from the bus. A record that
 * fails (storage or queue trouble) is retried, with the rest of its account's records (they share
 * one backlog-state update); rejected events are recorded, not failed.
 */
async function route(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const routed = router().routeBatch(event.Records.map((record) => ({ id: record.messageId, body: record.body })));
  const routeRecord = async (record: SQSRecord): Promise<void> => {
    const result = await routed.get(record.messageId)!;
    if (result.outcome === 'rejected') logger.warn('event rejected', { messageId: record.messageId, reason: result.reason });
  };
  return processPartialResponse(event, routeRecord, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
}

export const handler = lambdaHandler(route);
