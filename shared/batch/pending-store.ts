import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import type { LmsEvent } from '../events/envelope';
import { nextFireTime, parseScheduleExpression } from '../schedule';
import { writeAll } from '../storage/batch-io';
import { queryShards, shardOf } from '../storage/sharded-index';
import type { Webhook } from '../webhooks/model';
import { pendingKeys } from '../storage/table';

/**
 * Batch events waiting for the scheduled aggregator, in the single table (key design in
 * shared/storage/table.ts). Per webhook: the events, ordered by timestamp then arrival; a `SEEN`
 * item per event id that makes `add` idempotent; and a `DUE` marker holding the pending count and
 * the flush lease, indexed in the sparse GSI so a run finds due webhooks without scanning.
 *
 * The marker is written outside the event's transaction on purpose: every add for a webhook
 * touches it, and a hot item inside transactions would turn concurrent adds into conflicts.
 */

/** Due markers spread over this many GSI partitions, so adds for many webhooks never share one hot partition. */
export const DUE_SHARDS = 16;
/** How long an event id stays known after it was added: ALM's 7-day retention. */
const DEDUPE_WINDOW_SECONDS = 7 * 24 * 3600;
/** Events per transaction (two items each; DynamoDB allows 100 items and 4 MB). */
const TRANSACTION_EVENTS = 50;
const TRANSACTION_BYTES = 2 * 1024 * 1024;
const TIME_WIDTH = 16;

export interface PendingEvent {
  readonly event: LmsEvent;
  /** The event's sort key in the webhook's backlog. */
  readonly key: string;
  /** Epoch ms the event was added. */
  readonly arrivedAt: number;
}

export interface DueWebhook {
  readonly webhookId: string;
  readonly accountId: number;
  /** Epoch ms until which another run holds the flush lease; absent when free. */
  readonly leaseUntil?: number;
}

export interface Lease {
  readonly webhookId: string;
  readonly accountId: number;
  readonly owner: string;
  /** The marker's version when the lease was taken: finishing deletes the marker only if no add came since. */
  readonly version: number;
}

export interface PendingPage {
  readonly items: PendingEvent[];
  /** Pass as `after` for the next page; absent on the last one. */
  readonly nextKey?: string;
}

export interface LastRun {
  readonly expression: string;
  readonly firedAt: number;
}

/** What `GET /webhooks/{id}` shows of a webhook's batch events. */
export interface BatchSummary {
  readonly pendingBatchEvents: number;
  /** ISO time of the schedule's next run. */
  readonly nextBatchFlushAt: string;
}


/** The lease was taken over (it expired): the holder must stop touching the webhook's backlog. */
export class LeaseLostError extends Error {}

export class PendingStore {
  private arrivals = 0;

  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Adds a batch event to the webhook's backlog; the same event id twice is stored once. Storage
   * errors propagate so the router's ingest message is retried.
   */
  async add(webhook: Webhook, event: LmsEvent): Promise<void> {
    await this.addMany(webhook, [event]);
  }

  /**
   * Adds several batch events for one webhook, in the given arrival order, as `add` does each:
   * up to 50 events per transaction, each event id stored once (backfills, the benchmark).
   */
  async addMany(webhook: Webhook, events: readonly LmsEvent[]): Promise<void> {
    const now = this.now();
    const unique = [...new Map(events.map((e) => [e.eventId, e])).values()];
    let added = 0;
    for (const group of transactionGroups(unique)) added += await this.writeEvents(webhook, group, now);
    // Also when all were duplicates: a crash after an earlier write may have left events without their marker.
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: pendingKeys.partition(webhook.id), sk: pendingKeys.due },
        UpdateExpression:
          'SET webhookId = :webhookId, accountId = :accountId, gsi1pk = :shard, gsi1sk = if_not_exists(gsi1sk, :since) ADD version :one, pendingCount :added',
        ExpressionAttributeValues: {
          ':webhookId': webhook.id,
          ':accountId': webhook.accountId,
          ':shard': pendingKeys.dueIndex(dueShard(webhook.id)),
          ':since': `${new Date(now).toISOString()}#${webhook.id}`,
          ':one': 1,
          ':added': added,
        },
      }),
    );
  }

  /** Writes each event with its `SEEN` marker in one transaction, leaving out those seen before; returns how many were new. */
  private async writeEvents(webhook: Webhook, events: readonly LmsEvent[], now: number): Promise<number> {
    const pk = pendingKeys.partition(webhook.id);
    const nowSeconds = Math.floor(now / 1000);
    let writes = events.map((event) => [
      {
        Put: {
          TableName: this.tableName,
          Item: { pk, sk: pendingKeys.seen(event.eventId), expiresAt: nowSeconds + DEDUPE_WINDOW_SECONDS },
          // TTL deletes lazily, so an expired marker must not count as seen.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowSeconds',
          ExpressionAttributeValues: { ':nowSeconds': nowSeconds },
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: {
            pk,
            sk: `${pendingKeys.eventPrefix}${pad(event.timestamp)}#${this.arrivalKey(now)}#${event.eventId}`,
            accountId: webhook.accountId,
            arrivedAt: now,
            // A string keeps the producer's JSON exact (numbers, nesting) and costs no attribute mapping.
            event: JSON.stringify(event),
          },
        },
      },
    ]);
    while (writes.length > 0) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: writes.flat() }));
        return writes.length;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        const seen = (i: number) => reasons[2 * i]?.Code === 'ConditionalCheckFailed';
        // Anything but "seen before" (a conflict, throttling) is the caller's to retry.
        if (!writes.some((_, i) => seen(i))) throw error;
        writes = writes.filter((_, i) => !seen(i));
      }
    }
    return 0;
  }

  /** Webhooks with pending events, longest waiting first within each shard: one Query per shard page, no scan. */
  async dueWebhooks(): Promise<DueWebhook[]> {
    const items = await queryShards(this.db, DUE_SHARDS, (shard) => ({
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :shard',
      ExpressionAttributeValues: { ':shard': pendingKeys.dueIndex(shard) },
      ProjectionExpression: 'webhookId, accountId, leaseUntil',
    }));
    return items.map((item) => ({
      webhookId: String(item.webhookId),
      accountId: Number(item.accountId),
      ...(typeof item.leaseUntil === 'number' && { leaseUntil: item.leaseUntil }),
    }));
  }

  /** Takes the webhook's flush lease until `until` (epoch ms), unless another run holds it or nothing is pending. */
  async acquireLease(webhookId: string, owner: string, until: number): Promise<Lease | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pendingKeys.partition(webhookId), sk: pendingKeys.due },
          UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
          ExpressionAttributeValues: { ':owner': owner, ':until': until, ':now': this.now() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { webhookId, owner, accountId: Number(Attributes!.accountId), version: Number(Attributes!.version) };
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  /** A page of the webhook's backlog in order (timestamp, then arrival), strongly consistent. */
  async read(webhookId: string, options: { after?: string; limit: number }): Promise<PendingPage> {
    const pk = pendingKeys.partition(webhookId);
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': pendingKeys.eventPrefix },
        ConsistentRead: true,
        Limit: options.limit,
        ...(options.after !== undefined && { ExclusiveStartKey: { pk, sk: options.after } }),
      }),
    );
    const items = (page.Items ?? []).map((item) => ({
      key: String(item.sk),
      arrivedAt: Number(item.arrivedAt),
      event: JSON.parse(String(item.event)) as LmsEvent,
    }));
    const nextKey = page.LastEvaluatedKey?.sk;
    return { items, ...(typeof nextKey === 'string' && { nextKey }) };
  }

  /** Deletes flushed (or dropped) events and counts them off the marker; only the lease holder may. */
  async remove(lease: Lease, events: readonly PendingEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pk = pendingKeys.partition(lease.webhookId);
    await writeAll(this.db, this.tableName, events.map((e) => ({ DeleteRequest: { Key: { pk, sk: e.key } } })));
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk: pendingKeys.due },
          UpdateExpression: 'ADD pendingCount :removed',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':removed': -events.length, ':owner': lease.owner },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') throw new LeaseLostError(`The flush lease of ${lease.webhookId} was taken over.`);
      throw error;
    }
  }

  /**
   * Gives the lease back. `drained`: the holder read the backlog to its end, so the marker goes —
   * unless an add touched it since the lease was taken; then it stays for the next run.
   */
  async releaseLease(lease: Lease, drained: boolean): Promise<void> {
    const Key = { pk: pendingKeys.partition(lease.webhookId), sk: pendingKeys.due };
    if (drained) {
      try {
        await this.db.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key,
            ConditionExpression: 'leaseOwner = :owner AND version = :version',
            ExpressionAttributeValues: { ':owner': lease.owner, ':version': lease.version },
          }),
        );
        return;
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': lease.owner },
        }),
      );
    } catch (error) {
      // Taken over after expiry: the lease is no longer ours to release.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  /**
   * Frees every flush lease: for a start that knows no run holding one is alive (the local runtime,
   * alone on its data, after a crash), so the backlog need not wait out a dead run's lease.
   */
  async releaseAllLeases(): Promise<number> {
    const leased = (await this.dueWebhooks()).filter((due) => due.leaseUntil !== undefined);
    for (const { webhookId, leaseUntil } of leased) {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: pendingKeys.partition(webhookId), sk: pendingKeys.due },
            UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
            ConditionExpression: 'leaseUntil = :seen',
            ExpressionAttributeValues: { ':seen': leaseUntil },
          }),
        );
      } catch (error) {
        // Released, or its backlog flushed, meanwhile.
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
    return leased.length;
  }

  /** Remembers when the schedule fired with work to do: the anchor for "next flush" estimates. */
  async recordRun(run: LastRun): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: pendingKeys.lastRun,
        UpdateExpression: 'SET scheduleExpression = :expression, firedAt = :firedAt',
        ExpressionAttributeValues: { ':expression': run.expression, ':firedAt': run.firedAt },
      }),
    );
  }

  /** How many batch events wait for the webhook, and when `scheduleExpression` (BATCH_SCHEDULE) next fires: one request. */
  async summary(webhookId: string, scheduleExpression: string): Promise<BatchSummary> {
    const due = { pk: pendingKeys.partition(webhookId), sk: pendingKeys.due };
    const { Responses } = await this.db.send(
      new BatchGetCommand({
        RequestItems: { [this.tableName]: { Keys: [due, pendingKeys.lastRun], ProjectionExpression: 'pk, pendingCount, scheduleExpression, firedAt' } },
      }),
    );
    const items = Responses?.[this.tableName] ?? [];
    const marker = items.find((item) => item.pk === due.pk);
    const lastRun = items.find((item) => item.pk === pendingKeys.lastRun.pk);
    return {
      // A crash between an event's write and its count can leave the count low; never show below zero.
      pendingBatchEvents: Math.max(0, Number(marker?.pendingCount ?? 0)),
      nextBatchFlushAt: new Date(
        nextFlushAt(scheduleExpression, lastRun && { expression: String(lastRun.scheduleExpression), firedAt: Number(lastRun.firedAt) }, this.now()),
      ).toISOString(),
    };
  }

  /** Arrival order for events of the same timestamp: time of the add, then a per-container counter. */
  private arrivalKey(now: number): string {
    this.arrivals = (this.arrivals + 1) % 1_000_000;
    return `${pad(now)}.${String(this.arrivals).padStart(6, '0')}`;
  }
}

/**
 * The schedule's next fire time after `now`. A cron expression says it outright. A rate fires every
 * period from when the rule was created, which only a recorded run reveals; without one, one
 * period from now is the latest the flush can come.
 */
export function nextFlushAt(expression: string, lastRun: LastRun | undefined, now: number): number {
  // The CDK stack refuses second rates; the local runtime allows them, so both are understood here.
  const schedule = parseScheduleExpression(expression, { allowSeconds: true });
  if (schedule.kind === 'cron') return nextFireTime(schedule, new Date(now)).getTime();
  const anchor = lastRun?.expression === expression && lastRun.firedAt <= now ? lastRun.firedAt : undefined;
  if (anchor === undefined) return now + schedule.everyMs;
  return anchor + (Math.floor((now - anchor) / schedule.everyMs) + 1) * schedule.everyMs;
}

function transactionGroups(events: readonly LmsEvent[]): LmsEvent[][] {
  const groups: LmsEvent[][] = [];
  let group: LmsEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event));
    if (group.length > 0 && (group.length === TRANSACTION_EVENTS || bytes + size > TRANSACTION_BYTES)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(event);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function pad(ms: number): string {
  return String(ms).padStart(TIME_WIDTH, '0');
}

function dueShard(webhookId: string): number {
  return shardOf(webhookId, DUE_SHARDS);
}
