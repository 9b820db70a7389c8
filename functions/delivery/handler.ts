import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { credentialsCipher } from '../../shared/adapters/credentials-cipher';
import { dynamoDb } from '../../shared/adapters/dynamodb';
import { eventBridge } from '../../shared/adapters/eventbridge';
import { sqs } from '../../shared/adapters/sqs';
import { required, settings } from '../../shared/config';
import { DeliveryMessageSchema } from '../../shared/deliveries/model';
import { DeliveryQueue } from '../../shared/deliveries/queue';
import { DeliveryRepository } from '../../shared/deliveries/repository';
import { sendWebhook } from '../../shared/delivery/http-sender';
import { publishWebhookDisabled } from '../../shared/delivery/notices';
import { heldBehindGroupHead } from '../../shared/delivery/fifo-hold';
import { DeliveryWorker } from '../../shared/delivery/worker';
import { logger } from '../../shared/observability/logger';
import { count, publishMetrics } from '../../shared/observability/metrics';
import { openCredentials } from '../../shared/webhooks/credentials';
import { WebhookRepository } from '../../shared/webhooks/repository';
import { DELIVERY_QUEUE, METRICS } from '../../shared/wiring';

/** Stop starting new requests when less than one full attempt (connect + response) of time is left. */
const TIME_FOR_ONE_ATTEMPT_MS = 20_000;

interface Container {
  readonly worker: DeliveryWorker;
  readonly queue: DeliveryQueue;
}
let container: Container | undefined;

function build(): Container {
  const config = settings();
  const webhooks = new WebhookRepository(dynamoDb(), config.TABLE_NAME);
  const worker = new DeliveryWorker({
    deliveries: new DeliveryRepository(dynamoDb(), config.TABLE_NAME, config.DELIVERY_LOG_TTL_DAYS),
    // Read fresh for every delivery (one strongly consistent read): a webhook switched off a moment
    // ago must not get another request. Its secrets open with the container's cached data key.
    findWebhook: async (accountId, webhookId) => {
      const webhook = await webhooks.get(accountId, webhookId);
      return webhook && openCredentials(credentialsCipher(), webhook);
    },
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
      maxReceivesWithoutAttempt: DELIVERY_QUEUE.maxReceivesWithoutAttempt,
    },
  });
  return { worker, queue: new DeliveryQueue(sqs(), required('DELIVERY_QUEUE_URL'), config.DELIVERY_DLQ_URL) };
}

class RetryLater extends Error {
  constructor(readonly delaySeconds: number) {
    super(`retry in ${delaySeconds} s`);
  }
}

/**
 * The delivery queue's consumer. FIFO batches may hold several webhooks' groups: a failure fails
 * the rest of its group in this batch (skipGroupOnError) while other groups go on. A retry holds
 * the failed message back with its visibility timeout, and the rest of its group with it, so the
 * group comes back whole and in order when the delay is over.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  container ??= build();
  const { worker, queue } = container;
  logger.addContext(context);
  const delays = new Map<string, number>();

  const processRecord = async (record: SQSRecord): Promise<void> => {
    const groupId = record.attributes.MessageGroupId ?? 'unknown';
    if (context.getRemainingTimeInMillis() < TIME_FOR_ONE_ATTEMPT_MS) {
      // Out of time: hand the group back at once rather than after the queue's visibility timeout.
      await queue.delay(record.receiptHandle, 0);
      delays.set(groupId, 0);
      throw new RetryLater(0);
    }
    const parsed = DeliveryMessageSchema.safeParse(safeJson(record.body));
    if (!parsed.success) {
      await queue.deadLetter(record.body, groupId, record.messageId, 'not a delivery message');
      logger.error('malformed delivery message dead-lettered', { messageId: record.messageId });
      return;
    }
    const result = await worker.work(parsed.data, Number(record.attributes.ApproximateReceiveCount));
    if (result.action === 'dead-letter') {
      await queue.deadLetter(record.body, groupId, record.messageId, result.reason);
      logger.error('delivery message dead-lettered', { ...parsed.data, reason: result.reason });
    } else if (result.action === 'retry') {
      await queue.delay(record.receiptHandle, result.delaySeconds);
      delays.set(groupId, result.delaySeconds);
      throw new RetryLater(result.delaySeconds);
    } else if (result.note) {
      logger.info('delivery not sent', { ...parsed.data, reason: result.note });
    }
  };

  const response = await processPartialResponse(event, processRecord, new SqsFifoPartialProcessorAsync(), {
    context,
    skipGroupOnError: true,
    // Every message waiting for a retry is an expected outcome, not a function error.
    throwOnFullBatchFailure: false,
  });
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const held = heldBehindGroupHead(event.Records, failed, delays);
  if (held.length > 0) await queue.delayAll(held);
  publishMetrics();
  return response;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
