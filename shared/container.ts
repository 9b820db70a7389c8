import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { credentialsCipher } from './adapters/credentials-cipher';
import { dynamoDb } from './adapters/dynamodb';
import { eventBridge } from './adapters/eventbridge';
import { sqs } from './adapters/sqs';
import type { ApiDependencies } from './api/app';
import type { AggregatorDependencies } from './batch/aggregator';
import { requestContinuation } from './batch/continuation';
import { PendingStore } from './batch/pending-store';
import { required, resetSettings, settings, type Settings } from './config';
import { ConsoleAssets } from './console/assets';
import { BacklogStateStore, backlogStateKey, DeliveryBacklog, stateFromItem } from './deliveries/backlog';
import { DoorbellQueue } from './deliveries/queue';
import { DeliveryRepository } from './deliveries/repository';
import { DeliveryService } from './deliveries/service';
import type { DrainDependencies } from './delivery/drain';
import { sendWebhook } from './delivery/http-sender';
import { publishWebhookDisabled } from './delivery/notices';
import { DeliveryWorker } from './delivery/worker';
import { EventPins } from './ingest/event-pins';
import { RejectedEventStore } from './ingest/rejected-store';
import { EventRouter } from './ingest/router';
import { logger } from './observability/logger';
import { count } from './observability/metrics';
import type { EnvelopeCipher } from './secrets/envelope';
import { AccountWebhooksCache } from './webhooks/cache';
import { openCredentials } from './webhooks/credentials';
import { WebhookRepository } from './webhooks/repository';
import { WebhookService } from './webhooks/service';
import { DELIVERY_QUEUE, METRICS } from './wiring';

/** The AWS clients the parts talk through, each made on first use. */
export interface Clients {
  readonly db: () => DynamoDBDocumentClient;
  readonly sqs: () => SQSClient;
  readonly eventBridge: () => EventBridgeClient;
  readonly cipher: () => EnvelopeCipher;
}

/**
 * The composition root: every part of the service, built from the settings and the clients on first
 * use and kept for the container's life (a function builds only what it touches). The handlers, the
 * local runtime and the benches take their parts from here, so the wiring is written once.
 */
export class Container {
  private readonly parts = new Map<string, unknown>();

  constructor(
    readonly config: Settings,
    private readonly clients: Clients,
  ) {}

  get webhookRepository(): WebhookRepository {
    return this.once('webhookRepository', () => new WebhookRepository(this.clients.db(), this.config.TABLE_NAME));
  }

  get deliveryRepository(): DeliveryRepository {
    return this.once('deliveryRepository', () => new DeliveryRepository(this.clients.db(), this.config.TABLE_NAME, this.config.DELIVERY_LOG_TTL_DAYS));
  }

  get pendingStore(): PendingStore {
    return this.once('pendingStore', () => new PendingStore(this.clients.db(), this.config.TABLE_NAME));
  }

  get doorbells(): DoorbellQueue {
    return this.once('doorbells', () => new DoorbellQueue(this.clients.sqs(), required('DELIVERY_QUEUE_URL', this.config), this.config.DELIVERY_DLQ_URL));
  }

  get backlogState(): BacklogStateStore {
    return this.once('backlogState', () => new BacklogStateStore(this.clients.db(), this.config.TABLE_NAME, this.doorbells));
  }

  get backlog(): DeliveryBacklog {
    return this.once('backlog', () => new DeliveryBacklog(this.deliveryRepository, this.backlogState));
  }

  get webhookService(): WebhookService {
    return this.once(
      'webhookService',
      () =>
        new WebhookService({
          repository: this.webhookRepository,
          maxWebhooksPerAccount: this.config.MAX_WEBHOOKS_PER_ACCOUNT,
          allowPrivateTargets: this.config.ALLOW_PRIVATE_TARGETS,
          rotationOverlapSeconds: this.config.SECRET_ROTATION_OVERLAP_SECONDS,
          cipher: this.clients.cipher(),
        }),
    );
  }

  get deliveryService(): DeliveryService {
    return this.once(
      'deliveryService',
      () =>
        new DeliveryService({
          repository: this.deliveryRepository,
          // Only writes need the queue: reads work without DELIVERY_QUEUE_URL.
          backlog: () => ({ writer: this.backlog, state: this.backlogState }),
          send: (request, options) => sendWebhook(request, options),
          allowPrivateTargets: this.config.ALLOW_PRIVATE_TARGETS,
        }),
    );
  }

  get api(): ApiDependencies {
    const { CONSOLE_OIDC_ISSUER: issuer, CONSOLE_OIDC_CLIENT_ID: clientId } = this.config;
    return this.once('api', () => ({
      accountClaim: this.config.ACCOUNT_CLAIM,
      webhooks: this.webhookService,
      deliveries: this.deliveryService,
      batchSummary: (webhookId) => this.pendingStore.summary(webhookId, this.config.BATCH_SCHEDULE),
      console: {
        assets: () => this.consoleAssets(),
        settings: { maxWebhooks: this.config.MAX_WEBHOOKS_PER_ACCOUNT, ...(issuer && clientId && { oidc: { issuer, clientId } }) },
      },
      onUnexpectedError: (error) => logger.error('Unexpected error', error as Error),
    }));
  }

  /** The console's files ship in the api function's package (see infra/constructs/api.ts); a failed read is retried on the next request. */
  private consoleAssets(): Promise<ConsoleAssets> {
    const dir = this.config.CONSOLE_ASSETS_DIR ?? join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'console');
    return this.once('consoleAssets', () =>
      ConsoleAssets.load(dir).catch((error: unknown) => {
        this.parts.delete('consoleAssets');
        throw error;
      }),
    );
  }

  /** The router's cache of each account's webhooks. */
  get accountWebhooks(): AccountWebhooksCache {
    return this.once('accountWebhooks', () => new AccountWebhooksCache(this.webhookRepository));
  }

  get router(): EventRouter {
    return this.once(
      'router',
      () =>
        new EventRouter({
          webhooks: this.accountWebhooks,
          backlog: this.backlog,
          pending: this.pendingStore,
          rejected: new RejectedEventStore(this.clients.db(), this.config.TABLE_NAME),
          pins: new EventPins(this.clients.db(), this.config.TABLE_NAME),
          onRejected: () => count(METRICS.rejectedEvents),
        }),
    );
  }

  get aggregator(): AggregatorDependencies {
    return this.once('aggregator', () => ({
      store: this.pendingStore,
      webhooks: this.webhookRepository,
      backlog: this.backlog,
      scheduleExpression: this.config.BATCH_SCHEDULE,
      maxEvents: this.config.BATCH_MAX_EVENTS,
      continueLater: (next) => requestContinuation(this.clients.eventBridge(), this.config.EVENT_BUS_NAME, next),
      onWebhookFailure: (webhookId, error) => logger.error('batch flush of a webhook failed; its events stay pending', { webhookId, error: error as Error }),
    }));
  }

  get worker(): DeliveryWorker {
    return this.once(
      'worker',
      () =>
        new DeliveryWorker({
          deliveries: this.deliveryRepository,
          send: (request, options) => sendWebhook(request, options),
          disableWebhook: async (webhook, reason, delivery) => {
            const disabledAt = new Date().toISOString();
            if (!(await this.webhookRepository.disable(webhook.accountId, webhook.id, reason, disabledAt))) return;
            count(METRICS.webhooksDisabled);
            logger.warn('webhook disabled', { webhookId: webhook.id, accountId: webhook.accountId, reason });
            await publishWebhookDisabled(this.clients.eventBridge(), this.config.EVENT_BUS_NAME, {
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
            retryDelaysSeconds: this.config.RETRY_DELAYS_SECONDS,
            retryWindowSeconds: this.config.RETRY_WINDOW_SECONDS,
            allowPrivateTargets: this.config.ALLOW_PRIVATE_TARGETS,
          },
        }),
    );
  }

  get drain(): DrainDependencies {
    return this.once('drain', () => ({
      deliveries: this.deliveryRepository,
      state: this.backlogState,
      worker: this.worker,
      // One read per page of a drain: a webhook switched off a moment ago gets no further request.
      // Its secrets open with the container's cached data key.
      readWebhookAndState: async (accountId, webhookId) => {
        const { webhook, other } = await this.webhookRepository.getWith(accountId, webhookId, backlogStateKey(webhookId));
        return { ...(webhook && { webhook: await openCredentials(this.clients.cipher(), webhook) }), ...(other && { state: stateFromItem(other) }) };
      },
      maxReceivesWithoutProgress: DELIVERY_QUEUE.maxReceivesWithoutProgress,
    }));
  }

  private once<T>(name: string, make: () => T): T {
    if (!this.parts.has(name)) this.parts.set(name, make());
    return this.parts.get(name) as T;
  }
}

/** The container's AWS clients (shared/adapters/), each made once. */
export const ADAPTERS: Clients = { db: dynamoDb, sqs, eventBridge, cipher: credentialsCipher };

let current: Container | undefined;

/** This container's parts: the settings of its environment, the shared AWS clients. */
export function container(): Container {
  current ??= new Container(settings(), ADAPTERS);
  return current;
}

/** For hosts that change the environment between runs (the local runtime, tests): settings are read again too. */
export function resetContainer(): void {
  resetSettings();
  current = undefined;
}
