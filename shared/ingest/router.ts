import type { BacklogStateStore, BacklogWrite, DeliveryBacklog } from '../deliveries/backlog';
import { unsentFor } from '../deliveries/held';
import type { AccountWebhooksCache, WebhooksForBatch } from '../webhooks/cache';
import type { Webhook } from '../webhooks/model';
import { eventInfoFor, type LmsEvent } from '../events/envelope';
import type { EventPins } from './event-pins';
import { orderingKey, sequenceOf, validateProducerEvent } from './producer-event';
import type { RejectedEventStore } from './rejected-store';

/** Where batch-kind events wait for the scheduled aggregator. */
export interface PendingSink {
  add(webhook: Webhook, event: LmsEvent): Promise<void>;
}

export interface RouterDependencies {
  readonly webhooks: AccountWebhooksCache;
  readonly backlog: Pick<DeliveryBacklog, 'write'>;
  /** Where a batch's writes are counted and doorbells rung: once per account per batch. */
  readonly state: Pick<BacklogStateStore, 'recordWrites'>;
  readonly pending: PendingSink;
  readonly rejected: RejectedEventStore;
  readonly pins: Pick<EventPins, 'pin'>;
  readonly onRejected?: (reason: string) => void;
}

export type RouteResult =
  | { readonly outcome: 'rejected'; readonly reason: string }
  | {
      readonly outcome: 'routed';
      readonly eventId: string;
      readonly deliveries: number;
      readonly pending: number;
      readonly accountId: number;
      /** Deliveries due to be sent: their webhooks' backlog states still have to record them. */
      readonly writes: readonly BacklogWrite[];
    };

/**
 * Ingest: one producer event → one delivery per subscribed webhook that is active (sent) or
 * disabled (held), in real time, or one pending entry per such webhook (batch). Invalid events are kept as rejected, never dropped. Storage
 * or queue errors propagate, so the ingest message is retried — every step is idempotent.
 */
export class EventRouter {
  constructor(private readonly deps: RouterDependencies) {}

  /**
   * Routes an ingest batch. Each account's events are validated one after another in record
   * order, and each webhook's deliveries are written in that order (different webhooks' writes in
   * parallel), so a webhook's backlog never shows a later event of the batch before an earlier
   * one; then each account's writes are recorded in its backlog state with one update, which
   * rings the doorbells of webhooks that had none out. A record's result waits for its account's
   * update: a record fails when its routing or that update failed (the retry repeats both; every
   * step is idempotent). Every webhook write the API answered before these events were put applies
   * to them: each account's cached webhooks are checked against its version, read for the whole
   * batch at once.
   */
  routeBatch(records: readonly { readonly id: string; readonly body: string }[]): Map<string, Promise<RouteResult>> {
    const byAccount = new Map<string, (typeof records)[number][]>();
    for (const record of records) {
      const key = orderingKey(record.body);
      byAccount.set(key, [...(byAccount.get(key) ?? []), record]);
    }
    const webhooks = this.deps.webhooks.batch([...byAccount.keys()].map(Number).filter((id) => Number.isSafeInteger(id) && id > 0));
    const webhookTails = new Map<string, Promise<unknown>>();
    const inOrder: WriteScheduler = (webhookId, write) => {
      const run = (webhookTails.get(webhookId) ?? Promise.resolve()).catch(() => undefined).then(write);
      webhookTails.set(webhookId, run);
      return run;
    };
    const results = new Map<string, Promise<RouteResult>>();
    for (const accountRecords of byAccount.values()) {
      let planned: Promise<unknown> = Promise.resolve();
      const routed = accountRecords.map((record) => {
        const plan = planned.catch(() => undefined).then(() => this.plan(record.body, webhooks));
        planned = plan;
        return plan.then((p) => this.perform(p, inOrder));
      });
      const recorded = Promise.allSettled(routed).then((outcomes) => this.recordWrites(outcomes));
      recorded.catch(() => undefined);
      accountRecords.forEach((record, i) => results.set(record.id, routed[i]!.then(async (result) => (await recorded, result))));
    }
    return results;
  }

  /** Routes one event on its own (its writes recorded by the caller, see `routeBatch`). */
  async route(body: string): Promise<RouteResult> {
    return this.perform(await this.plan(body, this.deps.webhooks.batch()), (_webhookId, write) => write());
  }

  private async recordWrites(outcomes: readonly PromiseSettledResult<RouteResult>[]): Promise<void> {
    const writes = new Map<number, BacklogWrite[]>();
    for (const outcome of outcomes) {
      if (outcome.status !== 'fulfilled' || outcome.value.outcome !== 'routed') continue;
      const { accountId, writes: written } = outcome.value;
      writes.set(accountId, [...(writes.get(accountId) ?? []), ...written]);
    }
    await Promise.all([...writes].map(([accountId, written]) => this.deps.state.recordWrites(accountId, written)));
  }

  /** Validates an event (keeping it as rejected if invalid), settles its time, and finds its webhooks. */
  private async plan(body: string, webhooks: WebhooksForBatch): Promise<Plan> {
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
    const subscribed = (await webhooks.forAccount(accountId)).filter((w) => w.status !== 'INACTIVE' && w.events.includes(event.eventName));
    if (pinning) {
      const timestamp = await pinning;
      event = { ...event, timestamp, ...(validation.eventInfoFilled && { eventInfo: eventInfoFor(timestamp, sequenceOf(event.eventId)) }) };
    }
    return { outcome: 'planned', accountId, kind, arrivedAt, event, subscribed };
  }

  private async perform(plan: Plan, inOrder: WriteScheduler): Promise<RouteResult> {
    if (plan.outcome === 'rejected') return plan;
    const { accountId, kind, arrivedAt, event, subscribed } = plan;
    if (kind === 'batch') {
      await Promise.all(subscribed.map((webhook) => this.deps.pending.add(webhook, event)));
      return { outcome: 'routed', eventId: event.eventId, deliveries: 0, pending: subscribed.length, accountId, writes: [] };
    }
    const written = await Promise.all(
      subscribed.map((webhook) =>
        inOrder(webhook.id, async () => {
          const write = await this.deps.backlog.write({ webhook, events: [event], kind: 'realtime', idempotencyKey: `event:${event.eventId}`, arrivedAt, ...heldFor(webhook) });
          return write.due ? [{ webhookId: webhook.id, deliveryId: write.deliveryId }] : [];
        }),
      ),
    );
    return { outcome: 'routed', eventId: event.eventId, deliveries: subscribed.length, pending: 0, accountId, writes: written.flat() };
  }
}

type Plan =
  | { readonly outcome: 'rejected'; readonly reason: string }
  | {
      readonly outcome: 'planned';
      readonly accountId: number;
      readonly kind: 'realtime' | 'batch';
      readonly arrivedAt: number;
      readonly event: LmsEvent;
      readonly subscribed: readonly Webhook[];
    };

/** Runs a write for a webhook after the batch's earlier writes for that webhook. */
type WriteScheduler = <T>(webhookId: string, write: () => Promise<T>) => Promise<T>;

function heldFor(webhook: Webhook) {
  const unsent = unsentFor(webhook);
  return unsent && { unsent };
}
