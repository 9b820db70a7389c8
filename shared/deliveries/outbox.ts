import type { LmsEvent } from '../delivery/envelope';
import { newId } from '../ids';
import type { Webhook } from '../webhooks/model';
import type { Delivery, DeliveryKind } from './model';
import type { DeliveryQueue } from './queue';
import type { DeliveryRepository } from './repository';

export interface NewDelivery {
  readonly webhook: Webhook;
  readonly events: readonly LmsEvent[];
  readonly kind: Exclude<DeliveryKind, 'test'>;
  /** Enqueueing twice with the same key (per webhook) delivers once, e.g. `event:<eventId>`. */
  readonly idempotencyKey?: string;
  /** When the (first) event arrived; the retry window counts from here. @default now */
  readonly arrivedAt?: number;
}

/**
 * Record first, then enqueue: a crash in between leaves a PENDING delivery whose enqueue a retry
 * repeats (the FIFO deduplication id and the worker's status check keep that to one request).
 */
export class DeliveryOutbox {
  constructor(
    private readonly repository: DeliveryRepository,
    private readonly queue: DeliveryQueue,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async enqueue(input: NewDelivery): Promise<{ deliveryId: string; duplicate: boolean }> {
    const now = this.now();
    const delivery: Delivery = {
      id: newId('msg', now.getTime()),
      webhookId: input.webhook.id,
      accountId: input.webhook.accountId,
      kind: input.kind,
      status: 'PENDING',
      events: input.events,
      attemptCount: 0,
      firstArrivedAt: input.arrivedAt ?? now.getTime(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      redeliveries: 0,
    };
    const { duplicateOf } = await this.repository.create(delivery, input.idempotencyKey);
    if (duplicateOf !== undefined) {
      // The earlier enqueue may have stopped between its write and its send: send again only while
      // nothing has been attempted yet; the queue's deduplication absorbs a send that did happen.
      const earlier = await this.repository.get(input.webhook.id, duplicateOf);
      if (earlier?.status === 'PENDING' && earlier.attemptCount === 0) await this.send(earlier);
      return { deliveryId: duplicateOf, duplicate: true };
    }
    await this.send(delivery);
    return { deliveryId: delivery.id, duplicate: false };
  }

  /** Queues a finished delivery again, at the back of its webhook's queue. */
  async redeliver(delivery: Delivery): Promise<Delivery> {
    const requeued = await this.repository.requeue(delivery, this.now());
    await this.send(requeued);
    return requeued;
  }

  private async send(delivery: Delivery): Promise<void> {
    const deduplicationId = delivery.redeliveries === 0 ? delivery.id : `${delivery.id}.${delivery.redeliveries}`;
    await this.queue.send({ accountId: delivery.accountId, webhookId: delivery.webhookId, deliveryId: delivery.id }, deduplicationId);
  }
}
