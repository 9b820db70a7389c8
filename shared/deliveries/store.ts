import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import type { LmsEvent } from '../events/envelope';
import { ConflictError } from '../errors';
import { decodePageToken, encodePageToken, type Page } from '../storage/pagination';
import { readAll, writeAll } from '../storage/batch-io';
import { keys, deliveryKeys } from '../storage/table';
import { STORED_ATTEMPTS, type Attempt, type Delivery, type DeliveryStatus } from './model';

/**
 * The delivery log, which is also each webhook's ordered backlog (see shared/storage/table.ts):
 * `DELIVERY#<id>` items in the webhook's partition, one per request, holding the events (as the
 * JSON text they arrived as) and the latest attempts. Ids start with the event time, so the
 * partition reads oldest-first as the backlog and newest-first as the log.
 *
 * The status filter's sparse GSI holds only FAILED, SKIPPED and HELD deliveries (keys only): PENDING ones
 * are the backlog from the drain's cursor, SUCCEEDED ones are the rest.
 */

const INDEXED_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['FAILED', 'SKIPPED', 'HELD']);
const SECONDS_PER_DAY = 24 * 3600;

/** How a delivery is logged when it is not sent: skipped, held for a disabled webhook, or failed unsendable. */
export type UnsentStatus = 'SKIPPED' | 'FAILED' | 'HELD';

export interface AttemptOutcomeChange {
  readonly status: DeliveryStatus;
  readonly nextAttemptAt?: string;
  readonly statusReason?: string;
}

export class DeliveryStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
    private readonly ttlDays: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Writes a new delivery unless one with its id exists: returns false for a repeat (idempotent ingest). */
  async put(delivery: Delivery): Promise<boolean> {
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: this.toItem(delivery), ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async get(webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.webhook(webhookId), sk: keys.delivery(deliveryId) }, ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  /**
   * A page of the backlog, oldest first, from `from` (a sort-key bound, inclusive); strongly consistent.
   * `more`: DynamoDB stopped before the partition's end — at `limit` or at 1 MB, whichever came first,
   * so a page shorter than `limit` is not the end unless `more` is false.
   */
  async backlogPage(webhookId: string, from: string, limit: number): Promise<{ items: Delivery[]; more: boolean }> {
    const { Items, LastEvaluatedKey } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :end',
        ExpressionAttributeValues: { ':pk': keys.webhook(webhookId), ':from': keys.delivery(from), ':end': deliveryKeys.end },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return { items: (Items ?? []).map(fromItem), more: LastEvaluatedKey !== undefined };
  }

  /**
   * The PENDING deliveries of the backlog from `from` (the drain's cursor), oldest first: how many
   * one Query page (1 MB) holds, whether there are more, and the oldest one's id.
   */
  async pendingHead(webhookId: string, from: string): Promise<{ count: number; atLeast: boolean; oldestId?: string }> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :end',
        FilterExpression: '#status = :pending',
        ProjectionExpression: 'id',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pk': keys.webhook(webhookId), ':from': keys.delivery(from), ':end': deliveryKeys.end, ':pending': 'PENDING' },
      }),
    );
    const first = result.Items?.[0]?.id;
    return { count: result.Count ?? 0, atLeast: result.LastEvaluatedKey !== undefined, ...(typeof first === 'string' && { oldestId: first }) };
  }

  /** The log, newest first. `pendingFrom`: where the webhook's backlog starts (PENDING ones are all at or above it). */
  async list(webhookId: string, options: { status?: DeliveryStatus; limit: number; nextToken?: string; pendingFrom?: string }): Promise<Page<Delivery>> {
    if (options.status !== undefined && INDEXED_STATUSES.has(options.status)) return this.listIndexed(webhookId, options.status, options);
    const pk = keys.webhook(webhookId);
    const from = options.status === 'PENDING' ? keys.delivery(options.pendingFrom ?? '') : keys.delivery('');
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :end',
        ExpressionAttributeValues: { ':pk': pk, ':from': from, ':end': deliveryKeys.end, ...(options.status && { ':status': options.status }) },
        ...(options.status && { FilterExpression: '#status = :status', ExpressionAttributeNames: { '#status': 'status' } }),
        ExclusiveStartKey: decodePageToken(options.nextToken, { equal: { pk }, prefixed: { sk: keys.delivery('') } }),
        ScanIndexForward: false,
        Limit: options.limit,
      }),
    );
    const nextToken = encodePageToken(result.LastEvaluatedKey);
    return { items: (result.Items ?? []).map(fromItem), ...(nextToken && { nextToken }) };
  }

  private async listIndexed(webhookId: string, status: DeliveryStatus, options: { limit: number; nextToken?: string }): Promise<Page<Delivery>> {
    const gsi1pk = deliveryKeys.byStatus(webhookId, status);
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': gsi1pk },
        ExclusiveStartKey: decodePageToken(options.nextToken, { equal: { gsi1pk, pk: keys.webhook(webhookId) }, prefixed: { sk: keys.delivery('') }, other: ['gsi1sk'] }),
        ScanIndexForward: false,
        Limit: options.limit,
      }),
    );
    const ids = (result.Items ?? []).map((item) => ({ pk: String(item.pk), sk: String(item.sk) }));
    // The index holds keys only: the entries themselves come from the table, in the index's order.
    const found = new Map((await readAll(this.db, this.tableName, ids)).map((item) => [String(item.sk), fromItem(item)]));
    const nextToken = encodePageToken(result.LastEvaluatedKey);
    // An entry whose status moved on since the index was read no longer belongs in this list.
    const items = ids.map((id) => found.get(id.sk)).filter((d): d is Delivery => d?.status === status);
    return { items, ...(nextToken && { nextToken }) };
  }

  /**
   * Records an attempt in the delivery itself and moves it on: one write. The attempt-count
   * condition makes a second drain of the same delivery fail instead of double-counting.
   */
  async recordAttempt(delivery: Delivery, attempt: Attempt, next: AttemptOutcomeChange): Promise<Delivery> {
    const updated = withAttempt(delivery, attempt, next);
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: this.toItem(updated),
        ConditionExpression: 'attemptCount = :previous AND #status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':previous': delivery.attemptCount, ':pending': 'PENDING' },
      }),
    );
    return updated;
  }

  /**
   * Writes deliveries whole, without a condition, 25 per BatchWriteItem (see
   * shared/dispatch/outcome-recorder.ts for why that is safe for the drain's successes).
   */
  async putAll(deliveries: readonly Delivery[]): Promise<void> {
    await writeAll(this.db, this.tableName, deliveries.map((delivery) => ({ PutRequest: { Item: this.toItem(delivery) } })));
  }

  /** Ends a pending delivery without an attempt (its webhook is gone, inactive or disabled, or it cannot be sent). */
  async finishUnsent(delivery: Delivery, status: UnsentStatus, reason: string): Promise<void> {
    const at = this.now().toISOString();
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.webhook(delivery.webhookId), sk: keys.delivery(delivery.id) },
        UpdateExpression: 'SET #status = :status, statusReason = :reason, updatedAt = :at, gsi1pk = :gsi, gsi1sk = :id, expiresAt = :ttl REMOVE nextAttemptAt',
        ConditionExpression: '#status = :pending AND attemptCount = :attempts',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': status,
          ':reason': reason,
          ':at': at,
          ':gsi': deliveryKeys.byStatus(delivery.webhookId, status),
          ':id': delivery.id,
          ':ttl': this.expiry(),
          ':pending': 'PENDING',
          ':attempts': delivery.attemptCount,
        },
      }),
    );
  }

  /**
   * Makes a delivery due again with a fresh retry window (redeliver): a finished one, or a PENDING
   * one whose doorbell may be lost. Its attempts are kept.
   */
  async requeue(delivery: Delivery): Promise<Delivery> {
    const at = this.now();
    const updated: Delivery = {
      ...withoutOptional(delivery),
      status: 'PENDING',
      firstArrivedAt: at.getTime(),
      updatedAt: at.toISOString(),
      redeliveries: delivery.redeliveries + 1,
    };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.toItem(updated),
          ConditionExpression: '#status = :previous AND redeliveries = :redeliveries AND attemptCount = :attempts',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':previous': delivery.status, ':redeliveries': delivery.redeliveries, ':attempts': delivery.attemptCount },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') throw new ConflictError('This delivery was changed meanwhile (it may be being sent); try again.');
      throw error;
    }
    return updated;
  }

  toItem(delivery: Delivery): Record<string, unknown> {
    const { events, ...rest } = delivery;
    return {
      pk: keys.webhook(delivery.webhookId),
      sk: keys.delivery(delivery.id),
      ...(INDEXED_STATUSES.has(delivery.status) && { gsi1pk: deliveryKeys.byStatus(delivery.webhookId, delivery.status), gsi1sk: delivery.id }),
      // Every write counts the log's lifetime afresh, so a delivery still being retried never expires.
      expiresAt: this.expiry(),
      ...rest,
      // JSON text: whatever the producer's JSON held is stored exactly, with no attribute mapping.
      events: JSON.stringify(events),
    };
  }

  private expiry(): number {
    return Math.floor(this.now().getTime() / 1000) + this.ttlDays * SECONDS_PER_DAY;
  }
}

/** The delivery after `attempt`: its status moved on, the attempt appended to the (bounded) history. */
export function withAttempt(delivery: Delivery, attempt: Attempt, next: AttemptOutcomeChange): Delivery {
  return {
    ...withoutOptional(delivery),
    status: next.status,
    attemptCount: attempt.number,
    updatedAt: attempt.at,
    attempts: [...delivery.attempts, attempt].slice(-STORED_ATTEMPTS),
    ...(next.nextAttemptAt !== undefined && { nextAttemptAt: next.nextAttemptAt }),
    ...(next.statusReason !== undefined && { statusReason: next.statusReason }),
  };
}

/** Drops the fields that describe one state only, so the next state does not inherit them. */
function withoutOptional(delivery: Delivery): Delivery {
  const { nextAttemptAt: _next, statusReason: _reason, ...rest } = delivery;
  return rest;
}

function fromItem(item: Record<string, unknown>): Delivery {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiresAt: _ttl, events, attempts, ...delivery } = item;
  return { ...(delivery as unknown as Delivery), events: JSON.parse(String(events)) as LmsEvent[], attempts: (attempts as Attempt[] | undefined) ?? [] };
}
