import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import type { AttemptOutcome, SendOptions, WebhookRequest } from '../dispatch/http-sender';
import { eventInfoFor, type LmsEvent } from '../events/envelope';
import { callListener } from '../dispatch/worker';
import { idFloor, newId, ID_PATTERN, timeOfId } from '../ids';
import { TEST_REQUEST_TIMEOUTS } from '../wiring';
import { decodePageToken, encodePageToken, type Page } from '../storage/pagination';
import type { Webhook, WebhookWithCredentials } from '../webhooks/model';
import { toDeliveryView, type Delivery, type DeliveryDetailView, type DeliveryStatus, type DeliveryView } from '../deliveries/model';
import type { BacklogStateStore, DeliveryBacklog } from '../deliveries/backlog';
import type { HeldDeliveries, HeldSummary, ReleaseOutcome } from '../deliveries/held';
import type { HealthCounters } from '../deliveries/health';
import { healthView, type HealthView } from '../webhooks/health-view';
import { REPLAYABLE_STATUSES, toReplayView, type ReplayRequest, type ReplayStore, type ReplayView } from '../deliveries/replay';
import type { DeliveryStore } from '../deliveries/store';

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
  readonly repository: DeliveryStore;
  /** Built on first use: only redelivery and the PENDING filter need the backlog. */
  readonly backlog: () => { readonly writer: DeliveryBacklog; readonly state: Pick<BacklogStateStore, 'read' | 'ring'> };
  readonly held: HeldDeliveries;
  readonly health: Pick<HealthCounters, 'read'>;
  readonly replays: ReplayStore;
  /** How long the log keeps deliveries: a replay cannot reach further back. */
  readonly logTtlDays: number;
  /** How long a replay request may spend queuing before it hands the rest to the webhook's drain. */
  readonly replayBudgetMs: number;
  /** How long a held delivery is kept for its webhook: the retry window. */
  readonly retryWindowSeconds: number;
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
    // PENDING deliveries are the backlog: all at or above the drain's cursor.
    const pendingFrom = query.status === 'PENDING' ? (await this.options.backlog().state.read(webhook.accountId, webhook.id))?.cursor : undefined;
    const page = await this.options.repository.list(webhook.id, { ...query, ...(pendingFrom !== undefined && { pendingFrom }) });
    return { ...page, items: page.items.map(toDeliveryView) };
  }

  /** The delivery with one page of its attempts; `attemptsNextToken` continues them. */
  async get(webhook: Webhook, deliveryId: string, page: { limit: number; nextToken?: string }): Promise<DeliveryDetailView> {
    const delivery = await this.find(webhook, deliveryId);
    // The latest attempts live in the delivery itself (at most STORED_ATTEMPTS), paged here.
    const after = decodePageToken(page.nextToken, { equal: { delivery: delivery.id }, prefixed: { after: 'ATTEMPT#' } });
    const from = after ? Number(after.after.slice('ATTEMPT#'.length)) : 0;
    const attempts = delivery.attempts.filter((a) => a.number > from).slice(0, page.limit);
    const last = attempts[attempts.length - 1];
    const more = last !== undefined && delivery.attempts.some((a) => a.number > last.number);
    const attemptsNextToken = more ? encodePageToken({ delivery: delivery.id, after: `ATTEMPT#${last.number}` }) : undefined;
    return { ...toDeliveryView(delivery), attempts, ...(attemptsNextToken && { attemptsNextToken }) };
  }

  async redeliver(webhook: Webhook, deliveryId: string): Promise<DeliveryView> {
    if (webhook.status !== 'ACTIVE') throw new ConflictError(`The webhook is ${webhook.status}; activate it before redelivering.`);
    const delivery = await this.find(webhook, deliveryId);
    return toDeliveryView(await this.options.backlog().writer.redeliver(delivery));
  }

  /** What `GET /webhooks/{id}` adds: the held deliveries and the webhook's health. */
  async summary(webhook: Webhook): Promise<HeldSummary & { health: HealthView }> {
    const now = this.now();
    const [held, counts, state] = await Promise.all([
      this.options.held.summary(webhook.id),
      this.options.health.read(webhook.id, now),
      this.options.backlog().state.read(webhook.accountId, webhook.id),
    ]);
    const { oldestId, ...pending } = await this.options.repository.pendingHead(webhook.id, state?.cursor ?? '');
    const oldest = oldestId !== undefined ? { oldestEventAt: timeOfId(oldestId) } : {};
    return { ...held, health: healthView(counts, { ...pending, ...oldest }, held, now) };
  }

  /**
   * A DISABLED webhook was re-enabled: the delivery whose failure disabled it and the held ones go
   * out first, in backlog order, then new events — the drain's cursor moves back to the first of
   * them and its doorbell rings. With `discardHeld` the held ones are logged SKIPPED instead.
   */
  async releaseHeld(webhook: Webhook, reenabled: { disabledBy?: string; discardHeld: boolean }): Promise<ReleaseOutcome> {
    const failed = reenabled.disabledBy === undefined || reenabled.discardHeld ? undefined : await this.options.repository.get(webhook.id, reenabled.disabledBy);
    const requeued = failed?.status === 'FAILED' ? await this.options.repository.requeue(failed) : undefined;
    const outcome = await this.options.held.release(webhook.id, { windowSeconds: this.options.retryWindowSeconds, discard: reenabled.discardHeld });
    const first = [requeued?.id, outcome.firstReleasedId].filter((id): id is string => id !== undefined).sort()[0];
    if (first !== undefined) await this.options.backlog().state.ring(webhook, first, true);
    return { ...outcome, released: outcome.released + (requeued ? 1 : 0) };
  }

  /**
   * Queues the deliveries of a time range again, at the back of the backlog (see ./replay.ts). The
   * same request twice is one replay: the second answers with the first's progress.
   */
  async replay(webhook: Webhook, request: ReplayRequest): Promise<ReplayView> {
    if (webhook.status !== 'ACTIVE') throw new ConflictError(`The webhook is ${webhook.status}; activate it before replaying.`);
    const now = this.now().getTime();
    const oldest = now - this.options.logTtlDays * 24 * 3600 * 1000;
    if (Date.parse(request.since) < oldest) {
      const message = `the log keeps ${this.options.logTtlDays} days: since must be after ${new Date(oldest).toISOString()}`;
      throw new ValidationError(message, [{ field: 'since', message }]);
    }
    // Nothing after the request is replayed: the replay's own copies are written after it.
    const readUntil = new Date(Math.min(Date.parse(request.until), now - 1)).toISOString();
    const statuses = request.status === 'all' ? [...REPLAYABLE_STATUSES] : request.status;
    const { replay, created } = await this.options.replays.create(webhook, { since: request.since, until: request.until, statuses }, readUntil);
    // A repeat of a request that stopped before handing its rest to the drain hands it again.
    const queued = created
      ? await this.options.replays.queueMore(replay, deadlineIn(this.now, this.options.replayBudgetMs))
      : { replay };
    if (queued.replay.readAfter !== undefined) await this.options.replays.handToDrain(queued.replay);
    const first = 'firstQueuedId' in queued ? queued.firstQueuedId : undefined;
    if (first !== undefined || queued.replay.readAfter !== undefined) {
      await this.options.backlog().state.ring(webhook, first ?? idFloor('msg', replay.startedAt), true);
    }
    return toReplayView(queued.replay);
  }

  async replayStatus(webhook: Webhook, replayId: string): Promise<ReplayView> {
    const replay = replayId.startsWith('rpl_') ? await this.options.replays.get(webhook.id, replayId) : undefined;
    if (!replay) throw new NotFoundError(`No replay ${replayId}.`);
    return toReplayView(replay);
  }

  /** Sends a test event now, signed like any delivery, logs it (one write, once finished), and reports the listener's answer. */
  async test(webhook: WebhookWithCredentials): Promise<TestResult> {
    const at = this.now();
    const events: LmsEvent[] = [
      {
        eventId: randomUUID(),
        eventName: TEST_EVENT_NAME,
        timestamp: at.getTime(),
        eventInfo: eventInfoFor(at.getTime(), 0),
        data: { webhookId: webhook.id, message: 'A test event: your listener is reachable.' },
      },
    ];
    const id = newId('msg', at.getTime());
    const { outcome, attempt } = await callListener(this.options.send, webhook, { id, accountId: webhook.accountId, events, attemptCount: 0 }, at, {
      allowPrivate: this.options.allowPrivateTargets,
      ...TEST_REQUEST_TIMEOUTS,
    });
    // Written finished, never PENDING: the webhook's drain must not send it again.
    await this.options.repository.put({
      id,
      webhookId: webhook.id,
      accountId: webhook.accountId,
      kind: 'test',
      status: outcome.ok ? 'SUCCEEDED' : 'FAILED',
      ...(!outcome.ok && { statusReason: `test request failed: ${outcome.error ?? 'unknown'}` }),
      events,
      attemptCount: 1,
      attempts: [attempt],
      firstArrivedAt: at.getTime(),
      createdAt: at.toISOString(),
      updatedAt: attempt.at,
      redeliveries: 0,
    });
    return {
      delivered: outcome.ok,
      statusCode: outcome.statusCode ?? null,
      durationMs: attempt.durationMs,
      responseBody: attempt.responseBody ?? null,
      error: outcome.error ?? null,
      deliveryId: id,
    };
  }

  private async find(webhook: Webhook, deliveryId: string): Promise<Delivery> {
    const delivery = ID_PATTERN.test(deliveryId) ? await this.options.repository.get(webhook.id, deliveryId) : undefined;
    if (!delivery) throw new NotFoundError(`No delivery ${deliveryId}.`);
    return delivery;
  }
}

/** True until `budgetMs` from now has passed. */
function deadlineIn(now: () => Date, budgetMs: number): () => boolean {
  const end = now().getTime() + budgetMs;
  return () => now().getTime() < end;
}
