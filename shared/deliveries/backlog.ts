import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import type { LmsEvent } from '../events/envelope';
import { createHash } from 'node:crypto';
import { derivedId } from '../ids';
import { queryShards, shardOf } from '../storage/sharded-index';
import { backlogAttribute, backlogKeyAttribute, backlogKeys, backlogStateKey, backlogWebhookKey, type BacklogField } from '../storage/table';
import type { Webhook } from '../webhooks/model';
import type { Delivery, DeliveryKind } from './model';
import type { DoorbellQueue } from './queue';
import type { DeliveryStore, UnsentStatus } from './store';

/**
 * Each webhook's backlog is its `DELIVERY#` items from a cursor on; the queue only wakes a webhook
 * up. The backlog states of an account's webhooks share one small item (`ACCOUNT#<id>` /
 * `BACKLOG`), so the router records a whole ingest batch with one update per account, however
 * many of its webhooks the batch wrote to. Per webhook (attribute `<field>#<last 16 characters of its id>`):
 * - `c` (the cursor): the sort-key bound below which every delivery is finished, so a drain never
 *   reads the finished log to find the head. A writer whose delivery sorts below it (a late event,
 *   a redeliver) lowers it.
 * - `r`: when the doorbell was rung (epoch ms), set while it is in the queue; writers send a
 *   doorbell only when it was not set, so the queue holds at most one per webhook.
 * - `k`: when the doorbell should next be answered (a held retry, or the drain's last step).
 * - `s`: counts writes; a drain moves the cursor or clears the doorbell only if no write came since
 *   it looked, so an event written while a drain runs is never passed over or stranded.
 * - `p`: `<receives> <tag>` of the doorbell receive that last recorded progress (the tag: a hash of
 *   its message id), from which a drain that keeps crashing is recognised.
 * - `q`: replays of a time range still being queued, a page whenever the backlog runs dry.
 * Per account: `writes` counts router writes, and the GSI keys `DOORBELL#<shard>` / a time at or
 * before the earliest due doorbell of the account, while any is rung: the sweeper finds overdue
 * doorbells without a scan (only writers lower that time; only the sweeper raises it).
 */

/** Account backlog items spread over this many GSI partitions, so rings never share one hot partition. */
export const DOORBELL_SHARDS = 16;

export interface BacklogState {
  readonly webhookId: string;
  readonly accountId: number;
  readonly seq: number;
  readonly cursor?: string;
  /** ISO time the doorbell was rung; absent while it is not in the queue. */
  readonly rungAt?: string;
  /** ISO time the doorbell should next be answered (a held retry, or the drain's last step). */
  readonly wakeAt?: string;
  /** `progressTag` of the doorbell message that last recorded progress, and its receive count then. */
  readonly progressTag?: string;
  readonly progressReceives?: number;
  /** Replays whose range is not all queued yet: the drain queues more when the backlog runs dry (see ./replay.ts). */
  readonly replaysQueuing?: readonly string[];
}

export interface Progress {
  readonly messageId: string;
  readonly receiveCount: number;
}

export type StateChange =
  | { readonly kind: 'advance' }
  /** Keeps the doorbell until `wakeAt` (ISO), when the head is due again. */
  | { readonly kind: 'hold'; readonly wakeAt: string }
  /** Clears the doorbell: the backlog is drained. Only if no write came since `seq`. */
  | { readonly kind: 'clear' };

/** A delivery written into a webhook's backlog, to be counted (and rung) in its account's state. */
export interface BacklogWrite {
  readonly webhookId: string;
  readonly deliveryId: string;
}

/** What one sweep of an account's backlog state found and did. */
export interface AccountSweep {
  /** Rung doorbells whose backlog's head is due now. */
  readonly due: number;
  readonly rungAgain: number;
  /** Epoch ms of the earliest due doorbell, when one is due. */
  readonly oldestDue?: number;
}

const name = (field: BacklogField, webhookId: string) => backlogAttribute(field, webhookId);

export class BacklogStateStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
    private readonly queue: Pick<DoorbellQueue, 'ring'>,
    /** An account's webhook ids: the sweeper names a webhook to ring from its key in the state item. */
    private readonly webhookIds: (accountId: number) => Promise<readonly string[]>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async read(accountId: number, webhookId: string): Promise<BacklogState | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: backlogStateKey(accountId), ConsistentRead: true }));
    return Item ? stateFromItem(Item, accountId, webhookId) : undefined;
  }

  /** One delivery is due: see `recordWrites`. `force`: send a doorbell even if one seems to be out (a redeliver, whose doorbell may be lost). */
  async ring(webhook: Pick<Webhook, 'id' | 'accountId'>, deliveryId: string, force = false): Promise<void> {
    await this.recordWrites(webhook.accountId, [{ webhookId: webhook.id, deliveryId }], force);
  }

  /**
   * Records deliveries written into an account's backlogs — one update however many webhooks:
   * counts a write for each webhook, marks its doorbell rung and sends a doorbell for each one that
   * was not rung before (`force`: for every one). A webhook whose first written delivery sorts
   * below its cursor (a late event, a redeliver) gets the cursor moved back and is counted once
   * more, since a drain may have finished between the two writes without seeing it.
   */
  async recordWrites(accountId: number, writes: readonly BacklogWrite[], force = false): Promise<void> {
    const lowest = new Map<string, string>();
    for (const { webhookId, deliveryId } of writes) {
      const known = lowest.get(webhookId);
      if (known === undefined || deliveryId < known) lowest.set(webhookId, deliveryId);
    }
    if (lowest.size === 0) return;
    const now = this.now();
    const names: Record<string, string> = {};
    const sets = ['accountId = :account', 'gsi1pk = if_not_exists(gsi1pk, :shard)', 'gsi1sk = if_not_exists(gsi1sk, :nowIso)'];
    [...lowest.keys()].forEach((webhookId, i) => {
      names[`#s${i}`] = name('s', webhookId);
      names[`#r${i}`] = name('r', webhookId);
      sets.push(`#s${i} = if_not_exists(#s${i}, :zero) + :one`, `#r${i} = if_not_exists(#r${i}, :nowMs)`);
    });
    const { Attributes: before = {} } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: backlogStateKey(accountId),
        UpdateExpression: `SET ${sets.join(', ')} ADD writes :one`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':account': accountId, ':shard': doorbellIndex(accountId), ':nowIso': now.toISOString(), ':nowMs': now.getTime(), ':zero': 0, ':one': 1 },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const doorbells = await Promise.all(
      [...lowest].map(async ([webhookId, deliveryId]) => {
        const old = stateFromItem(before, accountId, webhookId);
        let rang = old.rungAt === undefined;
        let seq = old.seq + 1;
        if (old.cursor !== undefined && deliveryId < old.cursor) {
          const lowered = await this.lowerCursor(accountId, webhookId, deliveryId);
          if (lowered) {
            rang ||= !lowered.wasRung;
            seq = lowered.seq;
          }
        }
        return rang || force ? { webhookId, seq } : undefined;
      }),
    );
    const toRing = doorbells.filter((d) => d !== undefined);
    if (toRing.length === 0) return;
    // The sweeper raised the account's index time past a held doorbell: a new doorbell must be found from now on.
    if (typeof before.gsi1sk === 'string' && before.gsi1sk > now.toISOString()) await this.lowerIndexTime(accountId, now.toISOString());
    await Promise.all(toRing.map(({ webhookId, seq }) => this.queue.ring({ accountId, webhookId }, `${webhookId}.${seq}`)));
  }

  /**
   * Records a drain's position. Fails (false) when anything was written to the webhook's backlog
   * since the drain read the state, so the drain looks again from its recorded cursor: a write
   * below the new cursor is then found, and one above it costs a re-read of the page.
   */
  async save(before: BacklogState, cursor: string | undefined, change: StateChange, progress: Progress): Promise<boolean> {
    const { webhookId, accountId } = before;
    const now = this.now();
    const names: Record<string, string> = { '#s': name('s', webhookId), '#p': name('p', webhookId), '#r': name('r', webhookId), '#k': name('k', webhookId) };
    const values: Record<string, unknown> = { ':progress': `${progress.receiveCount} ${progressTag(progress.messageId)}` };
    const sets = ['#p = :progress'];
    if (cursor !== undefined) {
      names['#c'] = name('c', webhookId);
      values[':cursor'] = cursor;
      sets.push('#c = :cursor');
    }
    let update: string;
    if (change.kind === 'clear') {
      update = `SET ${sets.join(', ')} REMOVE #r, #k`;
    } else {
      // Still rung: when the doorbell should next be answered, for the sweeper.
      sets.push('#r = if_not_exists(#r, :nowMs)', '#k = :wake', 'gsi1pk = if_not_exists(gsi1pk, :shard)', 'gsi1sk = if_not_exists(gsi1sk, :nowIso)');
      Object.assign(values, {
        ':nowMs': now.getTime(),
        ':wake': change.kind === 'hold' ? Date.parse(change.wakeAt) : now.getTime(),
        ':shard': doorbellIndex(accountId),
        ':nowIso': now.toISOString(),
      });
      update = `SET ${sets.join(', ')}`;
    }
    // No write since the drain looked: one that landed in the range it read (a late event, a
    // redeliver) must not be passed over by the new cursor.
    if (before.seq > 0) values[':seq'] = before.seq;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: backlogStateKey(accountId),
          UpdateExpression: update,
          ConditionExpression: before.seq > 0 ? '#s = :seq' : 'attribute_not_exists(#s)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Names an unfinished replay in the webhook's state, so its drain queues the rest (see ./replay.ts). */
  async addReplay(accountId: number, webhookId: string, replayId: string): Promise<void> {
    await this.updateReplays(accountId, webhookId, 'ADD', replayId);
  }

  async removeReplay(accountId: number, webhookId: string, replayId: string): Promise<void> {
    await this.updateReplays(accountId, webhookId, 'DELETE', replayId);
  }

  /**
   * The sweeper's part: every account with a rung doorbell due by `nowMs` (one index Query per
   * shard page, then its state), and for each, doorbells not answered for `overdueMs` rung again.
   */
  async sweep(nowMs: number, overdueMs: number): Promise<AccountSweep[]> {
    const entries = await queryShards(this.db, DOORBELL_SHARDS, (shard) => ({
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :shard AND gsi1sk <= :until',
      ExpressionAttributeValues: { ':shard': backlogKeys.doorbellIndex(shard), ':until': new Date(nowMs).toISOString() },
    }));
    return Promise.all(entries.map((entry) => this.sweepAccount(Number(entry.accountId), nowMs, overdueMs)));
  }

  private async sweepAccount(accountId: number, nowMs: number, overdueMs: number): Promise<AccountSweep> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: backlogStateKey(accountId), ConsistentRead: true }));
    if (!Item) return { due: 0, rungAgain: 0 };
    const dues = new Map<string, { rungAt: number; wakeAt?: number }>();
    let due = 0;
    let rungAgain = 0;
    let oldestDue: number | undefined;
    let ids: Promise<readonly string[]> | undefined;
    for (const key of rungWebhookKeys(Item)) {
      const rungAt = Number(Item[backlogKeyAttribute('r', key)]);
      const wake = Item[backlogKeyAttribute('k', key)];
      const wakeAt = typeof wake === 'number' ? wake : undefined;
      const dueAt = wakeAt ?? rungAt;
      dues.set(key, { rungAt, ...(wakeAt !== undefined && { wakeAt }) });
      if (dueAt > nowMs) continue;
      due++;
      oldestDue = Math.min(oldestDue ?? dueAt, dueAt);
      if (dueAt > nowMs - overdueMs) continue;
      ids ??= this.webhookIds(accountId);
      const webhookId = (await ids).find((id) => backlogWebhookKey(id) === key);
      // A webhook deleted meanwhile: its fields went with it, or go at the next write.
      if (webhookId !== undefined && (await this.ringAgain(accountId, webhookId, rungAt, wakeAt, nowMs))) {
        rungAgain++;
        dues.set(key, { rungAt, wakeAt: nowMs });
      }
    }
    await this.reindex(accountId, Item, dues);
    return { due, rungAgain, ...(oldestDue !== undefined && { oldestDue }) };
  }

  /** A new doorbell for one that is overdue, unless a drain answered it meanwhile. */
  private async ringAgain(accountId: number, webhookId: string, rungAt: number, wakeAt: number | undefined, nowMs: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: backlogStateKey(accountId),
          UpdateExpression: 'SET #k = :now',
          ConditionExpression: `#r = :rungAt AND ${wakeAt === undefined ? 'attribute_not_exists(#k)' : '#k = :wakeAt'}`,
          ExpressionAttributeNames: { '#r': name('r', webhookId), '#k': name('k', webhookId) },
          ExpressionAttributeValues: { ':now': nowMs, ':rungAt': rungAt, ...(wakeAt !== undefined && { ':wakeAt': wakeAt }) },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
    await this.queue.ring({ accountId, webhookId }, `${webhookId}.sweep.${nowMs}`);
    return true;
  }

  /**
   * Moves the account's index time to its earliest due doorbell (or out of the index when none is
   * rung), unless anything changed since the sweep read it: the time only ever errs early.
   */
  private async reindex(accountId: number, item: Record<string, unknown>, dues: Map<string, { rungAt: number; wakeAt?: number }>): Promise<void> {
    const earliest = Math.min(...[...dues.values()].map((d) => d.wakeAt ?? d.rungAt));
    const next = Number.isFinite(earliest) ? new Date(earliest).toISOString() : undefined;
    if (next === item.gsi1sk) return;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':writes': item.writes ?? 0 };
    const conditions = ['writes = :writes'];
    [...dues].forEach(([key, { rungAt, wakeAt }], i) => {
      names[`#r${i}`] = backlogKeyAttribute('r', key);
      names[`#k${i}`] = backlogKeyAttribute('k', key);
      values[`:r${i}`] = rungAt;
      conditions.push(`#r${i} = :r${i}`);
      if (wakeAt === undefined) conditions.push(`attribute_not_exists(#k${i})`);
      else {
        values[`:k${i}`] = wakeAt;
        conditions.push(`#k${i} = :k${i}`);
      }
    });
    if (next !== undefined) values[':next'] = next;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: backlogStateKey(accountId),
          UpdateExpression: next === undefined ? 'REMOVE gsi1pk, gsi1sk' : 'SET gsi1sk = :next',
          ConditionExpression: conditions.join(' AND '),
          ...(Object.keys(names).length > 0 && { ExpressionAttributeNames: names }),
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      // A write or a drain came meanwhile: the next sweep looks again.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  /** Moves a webhook's cursor back to a delivery written below it; counts the write once more and rings if a drain cleared meanwhile. */
  private async lowerCursor(accountId: number, webhookId: string, deliveryId: string): Promise<{ wasRung: boolean; seq: number } | undefined> {
    const now = this.now();
    try {
      const { Attributes = {} } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: backlogStateKey(accountId),
          UpdateExpression: 'SET #c = :id, #s = #s + :one, #r = if_not_exists(#r, :nowMs), gsi1pk = if_not_exists(gsi1pk, :shard), gsi1sk = if_not_exists(gsi1sk, :nowIso)',
          ConditionExpression: '#c > :id',
          ExpressionAttributeNames: { '#c': name('c', webhookId), '#s': name('s', webhookId), '#r': name('r', webhookId) },
          ExpressionAttributeValues: { ':id': deliveryId, ':one': 1, ':nowMs': now.getTime(), ':shard': doorbellIndex(accountId), ':nowIso': now.toISOString() },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return { wasRung: Attributes[name('r', webhookId)] !== undefined, seq: Number(Attributes[name('s', webhookId)] ?? 0) + 1 };
    } catch (error) {
      // Already at or below it (another writer lowered it further).
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  private async lowerIndexTime(accountId: number, nowIso: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: backlogStateKey(accountId),
          UpdateExpression: 'SET gsi1sk = :now',
          ConditionExpression: 'gsi1sk > :now',
          ExpressionAttributeValues: { ':now': nowIso },
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  private async updateReplays(accountId: number, webhookId: string, action: 'ADD' | 'DELETE', replayId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: backlogStateKey(accountId),
        UpdateExpression: `SET accountId = :account ${action} #q :replay`,
        ExpressionAttributeNames: { '#q': name('q', webhookId) },
        ExpressionAttributeValues: { ':account': accountId, ':replay': new Set([replayId]) },
      }),
    );
  }
}

/** One webhook's state out of its account's backlog item. */
export function stateFromItem(item: Record<string, unknown>, accountId: number, webhookId: string): BacklogState {
  const field = (f: BacklogField) => item[name(f, webhookId)];
  const cursor = field('c');
  const rungAt = field('r');
  const wakeAt = field('k');
  const progress = field('p');
  const replays = field('q');
  const [receives, ...tag] = typeof progress === 'string' ? progress.split(' ') : [];
  return {
    webhookId,
    accountId,
    seq: Number(field('s') ?? 0),
    ...(typeof cursor === 'string' && { cursor }),
    ...(typeof rungAt === 'number' && { rungAt: new Date(rungAt).toISOString() }),
    ...(typeof wakeAt === 'number' && { wakeAt: new Date(wakeAt).toISOString() }),
    ...(tag.length > 0 && { progressTag: tag.join(' '), progressReceives: Number(receives) }),
    ...(replays instanceof Set && replays.size > 0 && { replaysQueuing: [...(replays as Set<string>)].sort() }),
  };
}

/** The keys of the webhooks in an account's backlog item whose doorbell is rung. */
function rungWebhookKeys(item: Record<string, unknown>): string[] {
  const prefix = backlogKeyAttribute('r', '');
  return Object.keys(item)
    .filter((attribute) => attribute.startsWith(prefix))
    .map((attribute) => attribute.slice(prefix.length));
}

/** A doorbell message's short tag: enough to tell one message from another in a few bytes. */
export function progressTag(messageId: string): string {
  return createHash('sha256').update(messageId).digest('base64url').slice(0, 8);
}

/** The cursor just past a finished delivery: ids have one length, so `<id>.` sorts below every later id. */
export function cursorAfter(deliveryId: string): string {
  return `${deliveryId}.`;
}

function doorbellIndex(accountId: number): string {
  return backlogKeys.doorbellIndex(shardOf(String(accountId), DOORBELL_SHARDS));
}

export interface NewDelivery {
  readonly webhook: Webhook;
  readonly events: readonly LmsEvent[];
  readonly kind: Exclude<DeliveryKind, 'test'>;
  /** Names the delivery within its webhook (e.g. `event:<eventId>`): the same key twice is one delivery. */
  readonly idempotencyKey: string;
  /** When the (first) event arrived; the retry window counts from here. @default now */
  readonly arrivedAt?: number;
  /** Logged without being sent: SKIPPED (the webhook was inactive at a batch flush), HELD (it was disabled) or FAILED (it cannot be stored). */
  readonly unsent?: { readonly status: UnsentStatus; readonly reason: string };
}

/**
 * Writes deliveries into their webhook's backlog — one conditional put each, under an id derived
 * from the first event's time and the idempotency key, so the backlog is in event-time order and
 * the same event twice is one delivery — and rings the webhook's doorbell.
 */
export class DeliveryBacklog {
  constructor(
    private readonly repository: DeliveryStore,
    private readonly state: BacklogStateStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Writes one delivery and rings its webhook's doorbell (see `write` for a batch of them). */
  async enqueue(input: NewDelivery): Promise<{ deliveryId: string; duplicate: boolean }> {
    const written = await this.write(input);
    if (written.due) await this.state.recordWrites(input.webhook.accountId, [{ webhookId: input.webhook.id, deliveryId: written.deliveryId }]);
    return { deliveryId: written.deliveryId, duplicate: written.duplicate };
  }

  /**
   * Writes one delivery without ringing: the caller records its batch's writes with
   * `BacklogStateStore.recordWrites`, once per account. `due`: it is to be sent (a repeat too: the
   * earlier write may have stopped before its ring).
   */
  async write(input: NewDelivery): Promise<{ deliveryId: string; duplicate: boolean; due: boolean }> {
    const now = this.now();
    const orderTime = Math.min(...input.events.map((e) => e.timestamp));
    const delivery: Delivery = {
      id: derivedId('msg', orderTime, `${input.webhook.id}\n${input.idempotencyKey}`),
      webhookId: input.webhook.id,
      accountId: input.webhook.accountId,
      kind: input.kind,
      status: input.unsent?.status ?? 'PENDING',
      ...(input.unsent && { statusReason: input.unsent.reason }),
      events: input.events,
      attemptCount: 0,
      attempts: [],
      firstArrivedAt: input.arrivedAt ?? now.getTime(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      redeliveries: 0,
    };
    const created = await this.repository.put(delivery);
    return { deliveryId: delivery.id, duplicate: !created, due: delivery.status === 'PENDING' };
  }

  /** Makes a delivery due again and rings its webhook's doorbell, even if one seems to be out. */
  async redeliver(delivery: Delivery): Promise<Delivery> {
    const requeued = await this.repository.requeue(delivery);
    await this.state.ring({ id: delivery.webhookId, accountId: delivery.accountId }, delivery.id, true);
    return requeued;
  }
}
