import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../errors';
import { decodePageToken, encodePageToken, type Page } from '../storage/pagination';
import { keys } from '../storage/table';
import type { Attempt, Delivery, DeliveryStatus } from './model';

/**
 * The delivery log (see shared/storage/table.ts): in the webhook's partition, `DELIVERY#<id>` items
 * (newest first by id), `ATTEMPT#<deliveryId>#<n>` items, and `DEDUP#<key>` markers that make
 * enqueueing idempotent. The sparse GSI indexes deliveries by webhook and status for the filter.
 */
const ATTEMPT_NUMBER_WIDTH = 6;

export const deliveryKeys = {
  attempt: (deliveryId: string, number: number) => `ATTEMPT#${deliveryId}#${String(number).padStart(ATTEMPT_NUMBER_WIDTH, '0')}`,
  attempts: (deliveryId: string) => `ATTEMPT#${deliveryId}#`,
  dedup: (key: string) => `DEDUP#${key}`,
  byStatus: (webhookId: string, status: DeliveryStatus) => `WEBHOOK#${webhookId}#STATUS#${status}`,
};

export class DeliveryRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly ttlDays: number,
  ) {}

  /**
   * Stores a new delivery, unless `idempotencyKey` was used before for this webhook: then nothing
   * is written and the earlier delivery's id is returned.
   */
  async create(delivery: Delivery, idempotencyKey?: string): Promise<{ duplicateOf?: string }> {
    const deliveryPut = { TableName: this.tableName, Item: this.toItem(delivery), ConditionExpression: 'attribute_not_exists(pk)' };
    if (idempotencyKey === undefined) {
      await this.db.send(new PutCommand(deliveryPut));
      return {};
    }
    const marker = {
      pk: keys.webhook(delivery.webhookId),
      sk: deliveryKeys.dedup(idempotencyKey),
      deliveryId: delivery.id,
      expiresAt: this.expiry(delivery.createdAt),
    };
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: { TableName: this.tableName, Item: marker, ConditionExpression: 'attribute_not_exists(pk)' } }, { Put: deliveryPut }],
        }),
      );
      return {};
    } catch (error) {
      if (!(error instanceof TransactionCanceledException) || error.CancellationReasons?.[0]?.Code !== 'ConditionalCheckFailed') throw error;
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: marker.pk, sk: marker.sk }, ConsistentRead: true }),
      );
      return { duplicateOf: String(Item?.deliveryId) };
    }
  }

  async get(webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.webhook(webhookId), sk: keys.delivery(deliveryId) }, ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async list(webhookId: string, options: { status?: DeliveryStatus; limit: number; nextToken?: string }): Promise<Page<Delivery>> {
    const query = options.status
      ? {
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': deliveryKeys.byStatus(webhookId, options.status) },
          ExclusiveStartKey: decodePageToken(options.nextToken, {
            equal: { gsi1pk: deliveryKeys.byStatus(webhookId, options.status), pk: keys.webhook(webhookId) },
            prefixed: { sk: keys.delivery('') },
            other: ['gsi1sk'],
          }),
        }
      : {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': keys.webhook(webhookId), ':prefix': keys.delivery('') },
          ExclusiveStartKey: decodePageToken(options.nextToken, { equal: { pk: keys.webhook(webhookId) }, prefixed: { sk: keys.delivery('') } }),
        };
    const result = await this.db.send(new QueryCommand({ TableName: this.tableName, ...query, ScanIndexForward: false, Limit: options.limit }));
    const nextToken = encodePageToken(result.LastEvaluatedKey);
    return { items: (result.Items ?? []).map(fromItem), ...(nextToken && { nextToken }) };
  }

  /** One page of a delivery's attempts, oldest first: a delivery retried for days has thousands. */
  async attempts(webhookId: string, deliveryId: string, options: { limit: number; nextToken?: string }): Promise<Page<Attempt>> {
    const pk = keys.webhook(webhookId);
    const prefix = deliveryKeys.attempts(deliveryId);
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        Limit: options.limit,
        ExclusiveStartKey: decodePageToken(options.nextToken, { equal: { pk }, prefixed: { sk: prefix } }),
      }),
    );
    const items = (result.Items ?? []).map(({ pk: _pk, sk: _sk, expiresAt: _ttl, ...attempt }) => attempt as unknown as Attempt);
    const nextToken = encodePageToken(result.LastEvaluatedKey);
    return { items, ...(nextToken && { nextToken }) };
  }

  /**
   * Logs an attempt and moves the delivery on, atomically. The attempt-count condition makes a
   * second worker on the same message (a duplicate receive) fail instead of double-counting.
   */
  async recordAttempt(
    delivery: Delivery,
    attempt: Attempt,
    next: { status: DeliveryStatus; nextAttemptAt?: string; statusReason?: string },
  ): Promise<Delivery> {
    const updated: Delivery = {
      ...withoutOptional(delivery),
      status: next.status,
      attemptCount: attempt.number,
      updatedAt: attempt.at,
      ...(next.nextAttemptAt !== undefined && { nextAttemptAt: next.nextAttemptAt }),
      ...(next.statusReason !== undefined && { statusReason: next.statusReason }),
    };
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: {
                pk: keys.webhook(delivery.webhookId),
                sk: deliveryKeys.attempt(delivery.id, attempt.number),
                ...attempt,
                expiresAt: this.expiry(delivery.createdAt),
              },
            },
          },
          {
            Put: {
              TableName: this.tableName,
              Item: this.toItem(updated),
              ConditionExpression: 'attemptCount = :previous AND #status = :pending',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':previous': delivery.attemptCount, ':pending': 'PENDING' },
            },
          },
        ],
      }),
    );
    return updated;
  }

  /** Ends a pending delivery without an attempt (its webhook is gone, inactive or disabled). */
  async skip(delivery: Delivery, reason: string, at: string): Promise<void> {
    await this.setStatus(delivery, { status: 'SKIPPED', statusReason: reason, updatedAt: at }, 'PENDING');
  }

  /** Puts a finished delivery back to PENDING with a fresh retry window (redeliver). */
  async requeue(delivery: Delivery, at: Date): Promise<Delivery> {
    if (delivery.status === 'PENDING') throw new ConflictError('This delivery is still pending; it will be retried.');
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
          ConditionExpression: '#status = :previous AND redeliveries = :redeliveries',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':previous': delivery.status, ':redeliveries': delivery.redeliveries },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') throw new ConflictError('This delivery was changed meanwhile; try again.');
      throw error;
    }
    return updated;
  }

  private async setStatus(delivery: Delivery, change: { status: DeliveryStatus; statusReason: string; updatedAt: string }, expected: DeliveryStatus) {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.webhook(delivery.webhookId), sk: keys.delivery(delivery.id) },
        UpdateExpression: 'SET #status = :status, statusReason = :reason, updatedAt = :at, gsi1pk = :gsi REMOVE nextAttemptAt',
        ConditionExpression: '#status = :expected',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': change.status,
          ':reason': change.statusReason,
          ':at': change.updatedAt,
          ':gsi': deliveryKeys.byStatus(delivery.webhookId, change.status),
          ':expected': expected,
        },
      }),
    );
  }

  private toItem(delivery: Delivery): Record<string, unknown> {
    return {
      pk: keys.webhook(delivery.webhookId),
      sk: keys.delivery(delivery.id),
      gsi1pk: deliveryKeys.byStatus(delivery.webhookId, delivery.status),
      gsi1sk: delivery.id,
      expiresAt: this.expiry(delivery.createdAt),
      ...delivery,
    };
  }

  private expiry(createdAt: string): number {
    return Math.floor(Date.parse(createdAt) / 1000) + this.ttlDays * 24 * 3600;
  }
}

/** Drops the fields that describe one state only, so the next state does not inherit them. */
function withoutOptional(delivery: Delivery): Delivery {
  const { nextAttemptAt: _next, statusReason: _reason, ...rest } = delivery;
  return rest;
}

function fromItem(item: Record<string, unknown>): Delivery {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiresAt: _ttl, ...delivery } = item;
  return delivery as unknown as Delivery;
}
