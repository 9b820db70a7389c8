import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LmsEvent } from '../events/envelope';
import { derivedId } from '../ids';
import { queryShards, shardOf } from '../storage/sharded-index';
import { backlogKeys, backlogStateKey } from '../storage/table';
import type { Webhook } from '../webhooks/model';
import type { Delivery, DeliveryKind } from './model';
import type { DoorbellQueue } from './queue';
import type { DeliveryStore, UnsentStatus } from './store';

/**
 * Each webhook's backlog is its `DELIVERY#` items from a cursor on; the queue only wakes a webhook
 * up. A small state item per webhook (`WEBHOOK#<id>` / `BACKLOG`) holds:
 * - `drainFrom` (the cursor): the sort-key bound below which every delivery is finished, so a drain never reads
 *   the finished log to find the head. A writer whose delivery sorts below it (a late event, a
 *   redeliver) lowers it.
 * - `rungAt`: set while the webhook's doorbell is in the queue; writers send a doorbell only when
 *   it was not set, so the queue holds at most one per webhook whatever the backlog.
 * - `seq`: counts writes; a drain moves the cursor or clears the doorbell only if no write came since
 *   it looked, so an event written while a drain runs is never passed over or stranded.
 * - `gsi1pk`/`gsi1sk` (`DOORBELL#<shard>` / when the doorbell should next be answered), present
 *   while rung: the sweeper finds doorbells that are overdue (lost, or their drain crashed).
 * - `progressMessage`/`progressReceives`: the doorbell receive that last recorded progress, from
 *   which a drain that keeps crashing is recognised.
 * - `replaysQueuing`: replays of a time range still being queued, a page whenever the backlog runs dry.
 */

/** Doorbell entries spread over this many GSI partitions, so rings never share one hot partition. */
export const DOORBELL_SHARDS = 16;

export interface BacklogState {
  readonly webhookId: string;
  readonly accountId: number;
  readonly seq: number;
  readonly cursor?: string;
  readonly rungAt?: string;
  readonly progressMessage?: string;
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

export interface OverdueDoorbell {
  readonly webhookId: string;
  readonly accountId: number;
  /** ISO time the doorbell should have been answered. */
  readonly wakeAt: string;
}

export class BacklogStateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly queue: Pick<DoorbellQueue, 'ring'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async read(webhookId: string): Promise<BacklogState | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: this.key(webhookId), ConsistentRead: true }));
    return Item ? stateFromItem(Item) : undefined;
  }

  /**
   * Tells the webhook's drain that `deliveryId` is due: counts the write and sends a doorbell
   * unless one is already out (`force`: send anyway, for a redeliver whose doorbell may be lost).
   * A delivery that sorts below the cursor (a late event, a redeliver) moves the cursor back and is
   * counted once more, since a drain may have finished between the two writes without seeing it.
   */
  async ring(webhook: Pick<Webhook, 'id' | 'accountId'>, deliveryId: string, force = false): Promise<void> {
    const before = await this.countWrite(webhook);
    let rang = before?.rungAt === undefined;
    let seq = (before?.seq ?? 0) + 1;
    if (before?.cursor !== undefined && deliveryId < before.cursor) {
      await this.lowerCursor(webhook.id, deliveryId);
      const again = await this.countWrite(webhook);
      rang ||= again?.rungAt === undefined;
      seq = (again?.seq ?? 0) + 1;
    }
    if (rang || force) await this.queue.ring({ accountId: webhook.accountId, webhookId: webhook.id }, `${webhook.id}.${seq}`);
  }

  /** Counts a write and marks the doorbell rung; returns the state before. */
  private async countWrite(webhook: Pick<Webhook, 'id' | 'accountId'>): Promise<BacklogState | undefined> {
    const now = this.now().toISOString();
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(webhook.id),
        UpdateExpression:
          'SET webhookId = :webhookId, accountId = :accountId, rungAt = if_not_exists(rungAt, :now), gsi1pk = :shard, gsi1sk = if_not_exists(gsi1sk, :now) ADD seq :one',
        ExpressionAttributeValues: {
          ':webhookId': webhook.id,
          ':accountId': webhook.accountId,
          ':now': now,
          ':shard': backlogKeys.doorbellIndex(doorbellShard(webhook.id)),
          ':one': 1,
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes ? stateFromItem(Attributes) : undefined;
  }

  /**
   * Records a drain's position. Fails (false) when anything was written since the drain read the
   * state, so the drain looks again from its recorded cursor: a write below the new cursor is then
   * found, and one above it costs a re-read of the page.
   */
  async save(before: BacklogState, cursor: string | undefined, change: StateChange, progress: Progress): Promise<boolean> {
    const values: Record<string, unknown> = { ':message': progress.messageId, ':receives': progress.receiveCount };
    const sets = ['progressMessage = :message', 'progressReceives = :receives'];
    const removes: string[] = [];
    // No write since the drain looked: one that landed in the range it read (a late event, a
    // redeliver) must not be passed over by the new cursor.
    const conditions = ['seq = :seq'];
    values[':seq'] = before.seq;
    if (cursor !== undefined) {
      sets.push('drainFrom = :cursor');
      values[':cursor'] = cursor;
    }
    if (change.kind === 'clear') {
      removes.push('rungAt', 'gsi1pk', 'gsi1sk');
    } else {
      // Still rung: when the doorbell should next be answered, for the sweeper.
      sets.push('gsi1pk = :shard', 'gsi1sk = :wake', 'rungAt = if_not_exists(rungAt, :now)');
      values[':shard'] = backlogKeys.doorbellIndex(doorbellShard(before.webhookId));
      values[':now'] = this.now().toISOString();
      values[':wake'] = change.kind === 'hold' ? change.wakeAt : values[':now'];
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(before.webhookId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Doorbells due before `until` (ISO), oldest first per shard: one Query per shard page, no scan. */
  async dueDoorbells(until: string): Promise<OverdueDoorbell[]> {
    const items = await queryShards(this.db, DOORBELL_SHARDS, (shard) => ({
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :shard AND gsi1sk <= :until',
      ExpressionAttributeValues: { ':shard': backlogKeys.doorbellIndex(shard), ':until': until },
    }));
    return items.map((item) => ({ webhookId: String(item.webhookId), accountId: Number(item.accountId), wakeAt: String(item.gsi1sk) }));
  }

  /** The sweeper's ring: a new doorbell for one that is overdue, unless a drain answered it meanwhile. */
  async ringAgain(doorbell: OverdueDoorbell): Promise<boolean> {
    const now = this.now().toISOString();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(doorbell.webhookId),
          UpdateExpression: 'SET gsi1sk = :now',
          ConditionExpression: 'gsi1sk = :wake',
          ExpressionAttributeValues: { ':now': now, ':wake': doorbell.wakeAt },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
    await this.queue.ring({ accountId: doorbell.accountId, webhookId: doorbell.webhookId }, `${doorbell.webhookId}.sweep.${Date.parse(now)}`);
    return true;
  }

  private async lowerCursor(webhookId: string, deliveryId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(webhookId),
          UpdateExpression: 'SET drainFrom = :id',
          ConditionExpression: 'drainFrom > :id',
          ExpressionAttributeValues: { ':id': deliveryId },
        }),
      );
    } catch (error) {
      // Already at or below it (another writer lowered it further).
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  private key(webhookId: string) {
    return backlogStateKey(webhookId);
  }
}

export function stateFromItem(item: Record<string, unknown>): BacklogState {
  return {
    webhookId: String(item.webhookId),
    accountId: Number(item.accountId),
    seq: Number(item.seq ?? 0),
    ...(typeof item.drainFrom === 'string' && { cursor: item.drainFrom }),
    ...(typeof item.rungAt === 'string' && { rungAt: item.rungAt }),
    ...(typeof item.progressMessage === 'string' && { progressMessage: item.progressMessage }),
    ...(typeof item.progressReceives === 'number' && { progressReceives: item.progressReceives }),
    ...(item.replaysQueuing instanceof Set && item.replaysQueuing.size > 0 && { replaysQueuing: [...(item.replaysQueuing as Set<string>)].sort() }),
  };
}

/** The cursor just past a finished delivery: ids have one length, so `<id>.` sorts below every later id. */
export function cursorAfter(deliveryId: string): string {
  return `${deliveryId}.`;
}

function doorbellShard(webhookId: string): number {
  return shardOf(webhookId, DOORBELL_SHARDS);
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

  async enqueue(input: NewDelivery): Promise<{ deliveryId: string; duplicate: boolean }> {
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
    // Rung on a repeat too: the earlier write may have stopped before its ring.
    if (delivery.status === 'PENDING') await this.state.ring(input.webhook, delivery.id);
    return { deliveryId: delivery.id, duplicate: !created };
  }

  /** Makes a delivery due again and rings its webhook's doorbell, even if one seems to be out. */
  async redeliver(delivery: Delivery): Promise<Delivery> {
    const requeued = await this.repository.requeue(delivery);
    await this.state.ring({ id: delivery.webhookId, accountId: delivery.accountId }, delivery.id, true);
    return requeued;
  }
}
