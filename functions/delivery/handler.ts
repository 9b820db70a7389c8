import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoDb } from '../../shared/adapters/dynamodb';
import { eventBridge } from '../../shared/adapters/eventbridge';
import { sqs } from '../../shared/adapters/sqs';
import { required, settings } from '../../shared/config';
import { BacklogStateStore } from '../../shared/deliveries/backlog';
import { DoorbellSchema } from '../../shared/deliveries/model';
import { DoorbellQueue } from '../../shared/deliveries/queue';
import { DeliveryRepository } from '../../shared/deliveries/repository';
import { drainBacklog, type DrainDependencies } from '../../shared/delivery/drain';
import { sendWebhook } from '../../shared/delivery/http-sender';
import { publishWebhookDisabled } from '../../shared/delivery/notices';
import { DeliveryWorker } from '../../shared/delivery/worker';
import { logger } from '../../shared/observability/logger';
import { count, publishMetrics } from '../../shared/observability/metrics';
import { WebhookRepository } from '../../shared/webhooks/repository';
import { DELIVERY_QUEUE, METRICS } from '../../shared/wiring';

/** Stop starting new requests when less than one full attempt (connect + response) of time is left. */
const TIME_FOR_ONE_ATTEMPT_MS = 20_000;

interface Container {
  readonly drain: DrainDependencies;
  readonly queue: DoorbellQueue;
}
let container: Container | undefined;

function build(): Container {
  const config = settings();
  const db = dynamoDb();
  const webhooks = new WebhookRepository(db, config.TABLE_NAME);
  const deliveries = new DeliveryRepository(db, config.TABLE_NAME, config.DELIVERY_LOG_TTL_DAYS);
  const queue = new DoorbellQueue(sqs(), required('DELIVERY_QUEUE_URL'), config.DELIVERY_DLQ_URL);
  const worker = new DeliveryWorker({
    deliveries,
    send: (request, options) => sendWebhook(request, options),
    disableWebhook: async (webhook, reason, delivery) => {
      const disabledAt = new Date().toISOString();
      if (!(await webhooks.disable(webhook.accountId, webhook.id, reason, disabledAt))) return;
      count(METRICS.webhooksDisabled);
      logger.warn('webhook disabled', { webhookId: webhook.id, accountId: webhook.accountId, reason });
      await publishWebhookDisabled(eventBridge(), config.EVENT_BUS_NAME, {
        accountId: webhook.accountId,
        webhookId: webhook.id,
        webhookName: webhook.name,
        reason,
        deliveryId: delivery.id,
        disabledAt,
      });
    },
    onAttempt: (outcome) => {
      count(METRICS.deliveryAttempts);
      if (!outcome.ok) count(METRICS.deliveryFailures);
    },
    settings: {
      retryDelaysSeconds: config.RETRY_DELAYS_SECONDS,
      retryWindowSeconds: config.RETRY_WINDOW_SECONDS,
      allowPrivateTargets: config.ALLOW_PRIVATE_TARGETS,
    },
  });
  return {
    drain: {
      deliveries,
      state: new BacklogStateStore(db, config.TABLE_NAME, queue),
      worker,
      findWebhook: (accountId, webhookId) => webhooks.get(accountId, webhookId),
      maxReceivesWithoutProgress: DELIVERY_QUEUE.maxReceivesWithoutProgress,
    },
    queue,
  };
}

/**
 * The delivery queue's consumer. Each message is a webhook's doorbell: the webhooks of a batch
 * drain concurrently, each serially and in order. A doorbell whose head is waiting for a retry is
 * held (its visibility timeout) until then; one whose drain ran out of time is handed back at once.
 * Further doorbells of a group in the same batch are redundant: the first one's drain covers them.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  container ??= build();
  const { drain, queue } = container;
  logger.addContext(context);
  const hasTime = () => context.getRemainingTimeInMillis() >= TIME_FOR_ONE_ATTEMPT_MS;

  const firstOfGroup = new Map<string, SQSRecord>();
  for (const record of event.Records) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    if (!firstOfGroup.has(group)) firstOfGroup.set(group, record);
  }

  const answer = async (record: SQSRecord): Promise<SQSBatchItemFailure | undefined> => {
    const groupId = record.attributes.MessageGroupId ?? 'unknown';
    const parsed = DoorbellSchema.safeParse(safeJson(record.body));
    if (!parsed.success) {
      await queue.deadLetter(record.body, groupId, record.messageId, 'not a doorbell message');
      logger.error('malformed delivery message dead-lettered', { messageId: record.messageId });
      return undefined;
    }
    const receipt = { messageId: record.messageId, receiveCount: Number(record.attributes.ApproximateReceiveCount) };
    const result = await drainBacklog(drain, parsed.data, receipt, hasTime);
    if (result.outcome === 'drained') return undefined;
    await queue.hold(record.receiptHandle, result.outcome === 'held' ? result.seconds : 0);
    return { itemIdentifier: record.messageId };
  };

  const failures = await Promise.all(
    [...firstOfGroup.values()].map((record) =>
      answer(record).catch((error: unknown) => {
        // Comes back after the visibility timeout; the drain resumes from its recorded cursor.
        logger.error('drain failed', { messageId: record.messageId, error: error as Error });
        return { itemIdentifier: record.messageId };
      }),
    ),
  );
  publishMetrics();
  return { batchItemFailures: failures.filter((f): f is SQSBatchItemFailure => f !== undefined) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
