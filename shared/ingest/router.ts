import type { DeliveryBacklog } from '../deliveries/backlog';
import { unsentFor } from '../deliveries/held';
import type { AccountWebhooksCache } from '../webhooks/cache';
import type { Webhook } from '../webhooks/model';
import { eventInfoFor, type LmsEvent } from '../events/envelope';
import type { EventPins } from './event-pins';
import { sequenceOf, validateProducerEvent } from './producer-event';
import type { RejectedEventStore } from './rejected-store';

/** Where batch-kind events wait for the scheduled aggregator. */
export interface PendingSink {
  add(webhook: Webhook, event: LmsEvent): Promise<void>;
}

export interface RouterDependencies {
  readonly webhooks: AccountWebhooksCache;
  readonly backlog: Pick<DeliveryBacklog, 'enqueue'>;
  readonly pending: PendingSink;
  readonly rejected: RejectedEventStore;
  readonly pins: Pick<EventPins, 'pin'>;
  readonly onRejected?: (reason: string) => void;
}

export type RouteResult =
  | { readonly outcome: 'rejected'; readonly reason: string }
  | { readonly outcome: 'routed'; readonly eventId: string; readonly deliveries: number; readonly pending: number };

/**
 * Ingest: one producer event → one delivery per subscribed webhook that is active (sent) or
 * disabled (held), in real time, or one pending entry per such webhook (batch). Invalid events are kept as rejected, never dropped. Storage
 * or queue errors propagate, so the ingest message is retried — every step is idempotent.
 */
export class EventRouter {
  constructor(private readonly deps: RouterDependencies) {}

  async route(body: string): Promise<RouteResult> {
    const validation = validateProducerEvent(body);
    if (!validation.ok) {
      const { ok: _ok, ...rejection } = validation;
      await this.deps.rejected.add(rejection, body);
      this.deps.onRejected?.(validation.reason);
      return { outcome: 'rejected', reason: validation.reason };
    }
    const { accountId, kind, arrivedAt } = validation;
    let event: LmsEvent = validation.event;
    // The bus's time has whole seconds and differs between two puts of one eventId: a real-time event
    // without its own timestamp gets one pinned to its eventId (looked up beside the webhooks).
    const pinning = kind === 'realtime' && validation.timestampFilled ? this.deps.pins.pin(accountId, event.eventId) : undefined;
    pinning?.catch(() => undefined);
    // A DISABLED webhook's events are held for it; an INACTIVE one's are not kept.
    const subscribed = (await this.deps.webhooks.forAccount(accountId)).filter((w) => w.status !== 'INACTIVE' && w.events.includes(event.eventName));
    if (kind === 'batch') {
      await Promise.all(subscribed.map((webhook) => this.deps.pending.add(webhook, event)));
      return { outcome: 'routed', eventId: event.eventId, deliveries: 0, pending: subscribed.length };
    }
    if (pinning) {
      const timestamp = await pinning;
      event = { ...event, timestamp, ...(validation.eventInfoFilled && { eventInfo: eventInfoFor(timestamp, sequenceOf(event.eventId)) }) };
    }
    await Promise.all(
      subscribed.map((webhook) =>
        this.deps.backlog.enqueue({ webhook, events: [event], kind: 'realtime', idempotencyKey: `event:${event.eventId}`, arrivedAt, ...heldFor(webhook) }),
      ),
    );
    return { outcome: 'routed', eventId: event.eventId, deliveries: subscribed.length, pending: 0 };
  }
}

function heldFor(webhook: Webhook) {
  const unsent = unsentFor(webhook);
  return unsent && { unsent };
}
