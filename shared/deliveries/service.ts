import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors';
import type { AttemptOutcome, SendOptions, WebhookRequest } from '../delivery/http-sender';
import { eventInfoFor } from '../delivery/envelope';
import { attemptFrom, buildRequest } from '../delivery/worker';
import { newId, ID_PATTERN } from '../ids';
import { TEST_REQUEST_TIMEOUTS } from '../wiring';
import type { Page } from '../storage/pagination';
import type { Webhook, WebhookWithCredentials } from '../webhooks/model';
import { toDeliveryView, type Delivery, type DeliveryDetailView, type DeliveryStatus, type DeliveryView } from './model';
import type { DeliveryOutbox } from './outbox';
import type { DeliveryRepository } from './repository';

export const TEST_EVENT_NAME = 'WEBHOOK_TEST';

export interface TestResult {
  readonly delivered: boolean;
  readonly statusCode: number | null;
  readonly durationMs: number;
  readonly responseBody: string | null;
  readonly error: string | null;
  readonly deliveryId: string;
}

export interface DeliveryServiceOptions {
  readonly repository: DeliveryRepository;
  /** Built on first use: only redelivery needs the queue. */
  readonly outbox: () => DeliveryOutbox;
  readonly send: (request: WebhookRequest, options: SendOptions) => Promise<AttemptOutcome>;
  readonly allowPrivateTargets: boolean;
  readonly now?: () => Date;
}

/** The delivery log, redelivery and the synchronous test request, for a webhook the caller owns. */
export class DeliveryService {
  private readonly now: () => Date;

  constructor(private readonly options: DeliveryServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async list(webhook: Webhook, query: { status?: DeliveryStatus; limit: number; nextToken?: string }): Promise<Page<DeliveryView>> {
    const page = await this.options.repository.list(webhook.id, query);
    return { ...page, items: page.items.map(toDeliveryView) };
  }

  /** The delivery with one page of its attempts; `attemptsNextToken` continues them. */
  async get(webhook: Webhook, deliveryId: string, page: { limit: number; nextToken?: string }): Promise<DeliveryDetailView> {
    const delivery = await this.find(webhook, deliveryId);
    const attempts = await this.options.repository.attempts(webhook.id, delivery.id, page);
    return { ...toDeliveryView(delivery), attempts: attempts.items, ...(attempts.nextToken && { attemptsNextToken: attempts.nextToken }) };
  }

  async redeliver(webhook: Webhook, deliveryId: string): Promise<DeliveryView> {
    if (webhook.status !== 'ACTIVE') throw new ConflictError(`The webhook is ${webhook.status}; activate it before redelivering.`);
    const delivery = await this.find(webhook, deliveryId);
    return toDeliveryView(await this.options.outbox().redeliver(delivery));
  }

  /** Sends a test event now, signed like any delivery, logs it, and reports the listener's answer. */
  async test(webhook: WebhookWithCredentials): Promise<TestResult> {
    const at = this.now();
    const delivery: Delivery = {
      id: newId('msg', at.getTime()),
      webhookId: webhook.id,
      accountId: webhook.accountId,
      kind: 'test',
      status: 'PENDING',
      events: [
        {
          eventId: randomUUID(),
          eventName: TEST_EVENT_NAME,
          timestamp: at.getTime(),
          eventInfo: eventInfoFor(at.getTime(), 0),
          data: { webhookId: webhook.id, message: 'A test event: your listener is reachable.' },
        },
      ],
      attemptCount: 0,
      firstArrivedAt: at.getTime(),
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
      redeliveries: 0,
    };
    await this.options.repository.create(delivery);
    const outcome = await this.options.send(buildRequest(webhook, delivery, at), {
      allowPrivate: this.options.allowPrivateTargets,
      ...TEST_REQUEST_TIMEOUTS,
    });
    const attempt = attemptFrom(1, at, outcome);
    await this.options.repository.recordAttempt(delivery, attempt, {
      status: outcome.ok ? 'SUCCEEDED' : 'FAILED',
      ...(!outcome.ok && { statusReason: `test request failed: ${outcome.error ?? 'unknown'}` }),
    });
    return {
      delivered: outcome.ok,
      statusCode: outcome.statusCode ?? null,
      durationMs: attempt.durationMs,
      responseBody: attempt.responseBody ?? null,
      error: outcome.error ?? null,
      deliveryId: delivery.id,
    };
  }

  private async find(webhook: Webhook, deliveryId: string): Promise<Delivery> {
    const delivery = ID_PATTERN.test(deliveryId) ? await this.options.repository.get(webhook.id, deliveryId) : undefined;
    if (!delivery) throw new NotFoundError(`No delivery ${deliveryId}.`);
    return delivery;
  }
}
