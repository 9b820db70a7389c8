import { join } from 'node:path';
import { credentialsCipher } from './adapters/credentials-cipher';
import { dynamoDb } from './adapters/dynamodb';
import { eventBridge } from './adapters/eventbridge';
import { sqs } from './adapters/sqs';
import type { ApiDependencies } from './api/app';
import type { AggregatorDependencies } from './batch/aggregator';
import { requestContinuation } from './batch/continuation';
import { PendingStore } from './batch/pending-store';
import { required, resetSettings, settings } from './config';
import { ConsoleAssets } from './api/console-assets';
import { BacklogStateStore, DeliveryBacklog, stateFromItem } from './deliveries/backlog';
import { DoorbellQueue } from './deliveries/queue';
import { HealthCounters } from './deliveries/health';
import { HeldDeliveries } from './deliveries/held';
import { REPLAY_REQUEST_BUDGET_MS, ReplayStore } from './deliveries/replay';
import { DeliveryStore } from './deliveries/store';
import { DeliveryService } from './api/delivery-service';
import type { DrainDependencies } from './dispatch/drain';
import { sendWebhook } from './dispatch/http-sender';
import { publishWebhookDisabled, publishWebhookFailing } from './events/notices';
import { DeliveryWorker } from './dispatch/worker';
import { EventPins } from './ingest/event-pins';
import { RejectedEventStore } from './ingest/rejected-store';
import { EventRouter } from './ingest/router';
import { lazy, resetLazyParts } from './lazy';
import { logger } from './observability/logger';
import { count } from './observability/metrics';
import { AccountWebhooksCache } from './webhooks/cache';
import { openCredentials } from './webhooks/credentials';
import { WebhookStore } from './webhooks/store';
import { WebhookService } from './webhooks/service';
import { DELIVERY_QUEUE } from './wiring';
import { backlogStateKey } from './storage/table';
import { METRICS } from './observability/metric-names';

/**
 * The composition root: every part of the service, built from the container's settings and AWS
 * clients (shared/adapters/) on first use and kept for the container's life. The handlers, the local
 * runtime and the benches take their parts from here, so the wiring is written once; a function's
 * bundle holds only the parts it touches.
 */

export const webhookStore = /* @__PURE__ */ lazy(() => new WebhookStore(dynamoDb(), settings().TABLE_NAME));

export const deliveryStore = /* @__PURE__ */ lazy(() => new DeliveryStore(dynamoDb(), settings().TABLE_NAME, settings().DELIVERY_LOG_TTL_DAYS));

export const pendingStore = /* @__PURE__ */ lazy(() => new PendingStore(dynamoDb(), settings().TABLE_NAME));

export const doorbells = /* @__PURE__ */ lazy(() => new DoorbellQueue(sqs(), required('DELIVERY_QUEUE_URL'), settings().DELIVERY_DLQ_URL));

export const backlogState = /* @__PURE__ */ lazy(() => new BacklogStateStore(dynamoDb(), settings().TABLE_NAME, doorbells(), async (accountId) => (await webhookStore().listAll(accountId)).map((w) => w.id)));

export const backlog = /* @__PURE__ */ lazy(() => new DeliveryBacklog(deliveryStore(), backlogState()));

export const healthCounters = /* @__PURE__ */ lazy(() => new HealthCounters(dynamoDb(), settings().TABLE_NAME));

export const replays = /* @__PURE__ */ lazy(() => new ReplayStore(dynamoDb(), settings().TABLE_NAME, deliveryStore(), backlogState(), settings().DELIVERY_LOG_TTL_DAYS));

/** The console's files ship in the api function's package (see infra/constructs/api.ts); a failed read is retried on the next request. */
const consoleAssets = /* @__PURE__ */ lazy(() => {
  let load: Promise<ConsoleAssets> | undefined;
  return (): Promise<ConsoleAssets> => {
    load ??= ConsoleAssets.load(settings().CONSOLE_ASSETS_DIR ?? join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'console')).catch((error: unknown) => {
      load = undefined;
      throw error;
    });
    return load;
  };
});

export const api = /* @__PURE__ */ lazy((): ApiDependencies => {
  const config = settings();
  const { CONSOLE_OIDC_ISSUER: issuer, CONSOLE_OIDC_CLIENT_ID: clientId } = config;
  return {
    accountClaim: config.ACCOUNT_CLAIM,
    webhooks: new WebhookService({
      repository: webhookStore(),
      maxWebhooksPerAccount: config.MAX_WEBHOOKS_PER_ACCOUNT,
      allowPrivateTargets: config.ALLOW_PRIVATE_TARGETS,
      rotationOverlapSeconds: config.SECRET_ROTATION_OVERLAP_SECONDS,
      cipher: credentialsCipher(),
    }),
    deliveries: new DeliveryService({
      repository: deliveryStore(),
      // Only writes need the queue: reads work without DELIVERY_QUEUE_URL.
      backlog: () => ({ writer: backlog(), state: backlogState() }),
      held: new HeldDeliveries(dynamoDb(), config.TABLE_NAME, config.DELIVERY_LOG_TTL_DAYS),
      health: healthCounters(),
      replays: replays(),
      logTtlDays: config.DELIVERY_LOG_TTL_DAYS,
      replayBudgetMs: REPLAY_REQUEST_BUDGET_MS,
      retryWindowSeconds: config.RETRY_WINDOW_SECONDS,
      send: (request, options) => sendWebhook(request, options),
      allowPrivateTargets: config.ALLOW_PRIVATE_TARGETS,
    }),
    batchSummary: (webhookId) => pendingStore().summary(webhookId, config.BATCH_SCHEDULE),
    console: {
      assets: consoleAssets(),
      settings: { maxWebhooks: config.MAX_WEBHOOKS_PER_ACCOUNT, ...(issuer && clientId && { oidc: { issuer, clientId } }) },
    },
    onUnexpectedError: (error) => logger.error('Unexpected error', error as Error),
  };
});

/** The router's cache of each account's webhooks. */
export const accountWebhooks = /* @__PURE__ */ lazy(() => new AccountWebhooksCache(webhookStore()));

export const router = /* @__PURE__ */ lazy(
  () =>
    new EventRouter({
      webhooks: accountWebhooks(),
      backlog: backlog(),
      state: backlogState(),
      pending: pendingStore(),
      rejected: new RejectedEventStore(dynamoDb(), settings().TABLE_NAME),
      pins: new EventPins(dynamoDb(), settings().TABLE_NAME),
      onRejected: () => count(METRICS.rejectedEvents),
    }),
);

export const aggregator = /* @__PURE__ */ lazy((): AggregatorDependencies => {
  const config = settings();
  return {
    store: pendingStore(),
    webhooks: webhookStore(),
    backlog: backlog(),
    scheduleExpression: config.BATCH_SCHEDULE,
    maxEvents: config.BATCH_MAX_EVENTS,
    continueLater: async (next) => requestContinuation(await eventBridge(), config.EVENT_BUS_NAME, next),
    onWebhookFailure: (webhookId, error) => logger.error('batch flush of a webhook failed; its events stay pending', { webhookId, error: error as Error }),
  };
});

export const drain = /* @__PURE__ */ lazy((): DrainDependencies => {
  const config = settings();
  const webhooks = webhookStore();
  const worker = new DeliveryWorker({
    deliveries: deliveryStore(),
    send: (request, options) => sendWebhook(request, options),
    disableWebhook: async (webhook, reason, delivery) => {
      const disabledAt = new Date().toISOString();
      if (!(await webhooks.disable(webhook.accountId, webhook.id, reason, disabledAt, delivery.id))) return;
      count(METRICS.webhooksDisabled);
      logger.warn('webhook disabled', { webhookId: webhook.id, accountId: webhook.accountId, reason });
      await publishWebhookDisabled(await eventBridge(), config.EVENT_BUS_NAME, {
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
      await publishWebhookFailing(await eventBridge(), config.EVENT_BUS_NAME, {
        accountId: webhook.accountId,
        webhookId: webhook.id,
        webhookName: webhook.name,
        deliveryId: delivery.id,
        ...failing,
      });
    },
    replays: replays(),
    health: healthCounters(),
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
    deliveries: deliveryStore(),
    state: backlogState(),
    worker,
    // One read per page of a drain: a webhook switched off a moment ago gets no further request.
    // Its secrets open with the container's cached data key.
    readWebhookAndState: async (accountId, webhookId) => {
      const { webhook, other } = await webhooks.getWith(accountId, webhookId, backlogStateKey(accountId));
      return { ...(webhook && { webhook: await openCredentials(credentialsCipher(), webhook) }), ...(other && { state: stateFromItem(other, accountId, webhookId) }) };
    },
    maxReceivesWithoutProgress: DELIVERY_QUEUE.maxReceivesWithoutProgress,
    replays: replays(),
  };
});

/** For hosts that change the environment between runs (the local runtime, tests): settings, clients and parts are made afresh. */
export function resetContainer(): void {
  resetSettings();
  resetLazyParts();
}
