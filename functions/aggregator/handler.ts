import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { dynamoDb } from '../../shared/adapters/dynamodb';
import { eventBridge } from '../../shared/adapters/eventbridge';
import { sqs } from '../../shared/adapters/sqs';
import { flushDueWebhooks, type AggregatorDependencies, type FlushReport, type ScheduledFlush } from '../../shared/batch/aggregator';
import { ContinuationEventSchema, requestContinuation } from '../../shared/batch/continuation';
import { PendingStore } from '../../shared/batch/pending-store';
import { required, settings } from '../../shared/config';
import { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import { DoorbellQueue } from '../../shared/deliveries/queue';
import { DeliveryRepository } from '../../shared/deliveries/repository';
import { logger } from '../../shared/observability/logger';
import { WebhookRepository } from '../../shared/webhooks/repository';

/** EventBridge's scheduled event (or the local scheduler's): only its time matters. */
const ScheduledEventSchema = z.looseObject({ time: z.iso.datetime({ offset: true }).optional() });

let dependencies: AggregatorDependencies | undefined;

function build(): AggregatorDependencies {
  const config = settings();
  const db = dynamoDb();
  return {
    store: new PendingStore(db, config.TABLE_NAME),
    webhooks: new WebhookRepository(db, config.TABLE_NAME),
    backlog: new DeliveryBacklog(
      new DeliveryRepository(db, config.TABLE_NAME, config.DELIVERY_LOG_TTL_DAYS),
      new BacklogStateStore(db, config.TABLE_NAME, new DoorbellQueue(sqs(), required('DELIVERY_QUEUE_URL'))),
    ),
    scheduleExpression: config.BATCH_SCHEDULE,
    maxEvents: config.BATCH_MAX_EVENTS,
    continueLater: (next) => requestContinuation(eventBridge(), config.EVENT_BUS_NAME, next),
    onWebhookFailure: (webhookId, error) => logger.error('batch flush of a webhook failed; its events stay pending', { webhookId, error: error as Error }),
  };
}

function scheduledFlush(event: unknown): ScheduledFlush {
  const continuation = ContinuationEventSchema.safeParse(event);
  if (continuation.success) return continuation.data.detail;
  const time = ScheduledEventSchema.parse(event).time;
  return { firedAt: time === undefined ? Date.now() : Date.parse(time), generation: 0 };
}

/** The batch schedule's target (and its continuation runs): flushes every webhook's pending batch events. */
export async function handler(event: unknown, context: Context): Promise<FlushReport> {
  dependencies ??= build();
  logger.addContext(context);
  const flush = scheduledFlush(event);
  const report = await flushDueWebhooks(dependencies, { ...flush, runId: randomUUID(), remainingMs: context.getRemainingTimeInMillis() });
  if (report.dueWebhooks > 0) logger.info('batch flush', { ...report, generation: flush.generation });
  return report;
}
