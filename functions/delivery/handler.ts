import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { credentialsCipher } from '../../shared/adapters/credentials-cipher';
import { dynamoDb } from '../../shared/adapters/dynamodb';
import { eventBridge } from '../../shared/adapters/eventbridge';
import { sqs } from '../../shared/adapters/sqs';
import { required, settings } from '../../shared/config';
import { backlogStateKey, BacklogStateStore, stateFromItem } from '../../shared/deliveries/backlog';
import { DoorbellQueue } from '../../shared/deliveries/queue';
import { HealthCounters } from '../../shared/deliveries/health';
import { ReplayStore } from '../../shared/deliveries/replay';
import { DeliveryRepository } from '../../shared/deliveries/repository';
import type { DrainDependencies } from '../../shared/delivery/drain';
import { answerDoorbells } from '../../shared/delivery/doorbells';
import { sendWebhook } from '../../shared/delivery/http-sender';
import { publishWebhookDisabled, publishWebhookFailing } from '../../shared/delivery/notices';
import { DeliveryWorker } from '../../shared/delivery/worker';
import { logger } from '../../shared/observability/logger';
import { count, publishMetrics } from '../../shared/observability/metrics';
import { openCredentials } from '../../shared/webhooks/credentials';
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
  const replays = new ReplayStore(db, config.TABLE_NAME, deliveries, config.DELIVERY_LOG_TTL_DAYS);
  const worker = new DeliveryWorker({
    deliveries,
    send: (request, options) => sendWebhook(request, options),
    disableWebhook: async (webhook, reason, delivery) => {
      const disabledAt = new Date().toISOString();
      if (!(await webhooks.disable(webhook.accountId, webhook.id, reason, disabledAt, delivery.id))) return;
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
    announceFailing: async (webhook, delivery, failing) => {
      logger.warn('webhook failing', { webhookId: webhook.id, accountId: webhook.accountId, deliveryId: delivery.id, ...failing });
      await publishWebhookFailing(eventBridge(), config.EVENT_BUS_NAME, {
        accountId: webhook.accountId,
        webhookId: webhook.id,
        webhookName: webhook.name,
        deliveryId: delivery.id,
        ...failing,
      });
    },
    replays,
    health: new HealthCounters(db, config.TABLE_NAME),
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
      // One read per page of a drain: a webhook switched off a moment ago gets no further request.
      // Its secrets open with the container's cached data key.
      readWebhookAndState: async (accountId, webhookId) => {
        const { webhook, other } = await webhooks.getWith(accountId, webhookId, backlogStateKey(webhookId));
        return { ...(webhook && { webhook: await openCredentials(credentialsCipher(), webhook) }), ...(other && { state: stateFromItem(other) }) };
      },
      maxReceivesWithoutProgress: DELIVERY_QUEUE.maxReceivesWithoutProgress,
      replays,
    },
    queue,
  };
}

/** The delivery queue's consumer: answers a batch of doorbells (see shared/delivery/doorbells.ts). */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  container ??= build();
  logger.addContext(context);
  const response = await answerDoorbells(event.Records, {
    ...container,
    hasTime: () => context.getRemainingTimeInMillis() >= TIME_FOR_ONE_ATTEMPT_MS,
    onDeadLetter: (messageId) => logger.error('malformed delivery message dead-lettered', { messageId }),
    onDrainError: (messageId, error) => logger.error('drain failed', { messageId, error: error as Error }),
  });
  publishMetrics();
  return response;
}
