import { QueryCommand, UpdateCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import { timeOfId } from '../ids';
import { keys, deliveryKeys } from '../storage/table';
import type { Webhook } from '../webhooks/model';
import { type UnsentStatus } from './store';

/**
 * Events for a webhook that is DISABLED (switched off for failing) are held: written into its
 * backlog as HELD deliveries, in order, and sent when an admin re-enables it. Events for a webhook
 * an admin set INACTIVE are logged SKIPPED and not sent (as ALM does). HELD deliveries are in the
 * status index, so they are counted and released without reading the log.
 */
export function unsentFor(webhook: Webhook | undefined): { readonly status: UnsentStatus; readonly reason: string } | undefined {
  if (!webhook) return { status: 'SKIPPED', reason: 'webhook was deleted' };
  switch (webhook.status) {
    case 'ACTIVE':
      return undefined;
    case 'DISABLED':
      return { status: 'HELD', reason: 'webhook is DISABLED: held until it is re-enabled' };
    case 'INACTIVE':
      return { status: 'SKIPPED', reason: 'webhook is INACTIVE' };
  }
}

export interface HeldSummary {
  readonly heldDeliveries: number;
  /** The (first) event time of the oldest held delivery (ISO 8601). */
  readonly oldestHeldEventAt?: string;
}

export interface ReleaseOutcome {
  /** Made PENDING again, with a fresh retry window. */
  readonly released: number;
  /** Held longer than the retry window, or discarded by the admin: logged SKIPPED (redeliverable). */
  readonly skipped: number;
  /** The first released delivery: where the backlog's cursor must move back to. */
  readonly firstReleasedId?: string;
}

/** Held deliveries updated at once, a page of the status index at a time. */
const RELEASE_PAGE = 100;

export class HeldDeliveries {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
    private readonly logTtlDays: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** How many deliveries are held and since when: keys-only Queries of the status index. */
  async summary(webhookId: string): Promise<HeldSummary> {
    let heldDeliveries = 0;
    let oldest: string | undefined;
    let start: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.db.send(
        new QueryCommand({ ...this.heldQuery(webhookId), ProjectionExpression: 'gsi1sk', ExclusiveStartKey: start }),
      );
      heldDeliveries += page.Count ?? 0;
      oldest ??= page.Items?.[0]?.gsi1sk as string | undefined;
      start = page.LastEvaluatedKey;
    } while (start);
    return { heldDeliveries, ...(oldest !== undefined && { oldestHeldEventAt: new Date(timeOfId(oldest)).toISOString() }) };
  }

  /**
   * Releases a re-enabled webhook's held deliveries in order: each one still within `windowSeconds`
   * of its arrival becomes PENDING with a fresh window; older ones (or all, with `discard`) are
   * logged SKIPPED with the reason, so they stay redeliverable. One conditional write each.
   */
  async release(webhookId: string, options: { windowSeconds: number; discard: boolean }): Promise<ReleaseOutcome> {
    let released = 0;
    let skipped = 0;
    let firstReleasedId: string | undefined;
    let start: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.db.send(new QueryCommand({ ...this.heldQuery(webhookId), Limit: RELEASE_PAGE, ExclusiveStartKey: start }));
      const outcomes = await Promise.all(
        (page.Items ?? []).map(async (item) => {
          const id = String(item.gsi1sk);
          if (!options.discard && (await this.makeDue(webhookId, id, options.windowSeconds))) return { id, released: true };
          const reason = options.discard
            ? 'discarded when the webhook was re-enabled; redeliver it if it is still wanted'
            : `held longer than the retry window (${options.windowSeconds} s); redeliver it if it is still wanted`;
          return { id, released: false, skipped: await this.skip(webhookId, id, reason) };
        }),
      );
      for (const outcome of outcomes) {
        if (outcome.released) {
          released++;
          firstReleasedId ??= outcome.id;
        } else if (outcome.skipped) skipped++;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return { released, skipped, ...(firstReleasedId !== undefined && { firstReleasedId }) };
  }

  private heldQuery(webhookId: string) {
    return {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :held',
      ExpressionAttributeValues: { ':held': deliveryKeys.byStatus(webhookId, 'HELD') },
    };
  }

  /** HELD → PENDING if it arrived within the window; false if it did not (or is no longer held). */
  private async makeDue(webhookId: string, deliveryId: string, windowSeconds: number): Promise<boolean> {
    const now = this.now();
    return this.conditionalUpdate(webhookId, deliveryId, {
      UpdateExpression: 'SET #status = :pending, firstArrivedAt = :now, updatedAt = :at, expiresAt = :ttl REMOVE gsi1pk, gsi1sk, statusReason, nextAttemptAt',
      ConditionExpression: '#status = :held AND firstArrivedAt >= :cutoff',
      ExpressionAttributeValues: {
        ':pending': 'PENDING',
        ':held': 'HELD',
        ':now': now.getTime(),
        ':at': now.toISOString(),
        ':ttl': this.expiry(now),
        ':cutoff': now.getTime() - windowSeconds * 1000,
      },
    });
  }

  private async skip(webhookId: string, deliveryId: string, reason: string): Promise<boolean> {
    const now = this.now();
    return this.conditionalUpdate(webhookId, deliveryId, {
      UpdateExpression: 'SET #status = :skipped, statusReason = :reason, updatedAt = :at, expiresAt = :ttl, gsi1pk = :gsi',
      ConditionExpression: '#status = :held',
      ExpressionAttributeValues: {
        ':skipped': 'SKIPPED',
        ':held': 'HELD',
        ':reason': reason,
        ':at': now.toISOString(),
        ':ttl': this.expiry(now),
        ':gsi': deliveryKeys.byStatus(webhookId, 'SKIPPED'),
      },
    });
  }

  private async conditionalUpdate(
    webhookId: string,
    deliveryId: string,
    update: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> },
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keys.webhook(webhookId), sk: keys.delivery(deliveryId) },
          ExpressionAttributeNames: { '#status': 'status' },
          ...update,
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private expiry(now: Date): number {
    return Math.floor(now.getTime() / 1000) + this.logTtlDays * 24 * 3600;
  }
}
