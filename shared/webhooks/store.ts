import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../errors';
import { readAll } from '../storage/batch-io';
import { decodePageToken, encodePageToken, type Page } from '../storage/pagination';
import { BACKLOG_FIELDS, backlogAttribute, backlogStateKey, keys } from '../storage/table';
import type { Webhook, WebhookWithCredentials } from './model';

const ITEM_TYPE = 'WEBHOOK';
/** Concurrent creates for one account contend on its counter; DynamoDB cancels all but one each round. */
const TRANSACTION_ATTEMPTS = 8;

export class WebhookLimitError extends ConflictError {}

/** Webhooks in the single table (see shared/storage/table.ts for the key design). */
export class WebhookStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
  ) {}

  /** Adds a webhook and counts it against the account's limit in one transaction. */
  async create(webhook: Webhook, maxPerAccount: number): Promise<void> {
    await this.transact(
      [
        {
          Update: {
            TableName: this.tableName,
            Key: { pk: keys.account(webhook.accountId), sk: keys.limits },
            UpdateExpression: 'SET webhookCount = if_not_exists(webhookCount, :zero) + :one ADD webhooksVersion :one',
            ConditionExpression: 'attribute_not_exists(webhookCount) OR webhookCount < :max',
            ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':max': maxPerAccount },
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: toItem(webhook),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
      (reasons) => {
        if (reasons[0] === 'ConditionalCheckFailed') {
          return new WebhookLimitError(`An account holds at most ${maxPerAccount} webhooks; delete one first.`);
        }
        return undefined;
      },
    );
  }

  async get(accountId: number, webhookId: string): Promise<Webhook | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.account(accountId), sk: keys.webhook(webhookId) }, ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  /**
   * The webhook and one more item of the table (its backlog state, say) in one strongly consistent
   * BatchGetItem: one round trip instead of two.
   */
  async getWith(accountId: number, webhookId: string, other: { pk: string; sk: string }): Promise<{ webhook?: Webhook; other?: Record<string, unknown> }> {
    const webhookKey = { pk: keys.account(accountId), sk: keys.webhook(webhookId) };
    const found = await readAll(this.db, this.tableName, [webhookKey, other], { consistent: true });
    const is = (key: { pk: string; sk: string }) => (item: Record<string, unknown>) => item.pk === key.pk && item.sk === key.sk;
    const webhook = found.find(is(webhookKey));
    const otherItem = found.find(is(other));
    return { ...(webhook && { webhook: fromItem(webhook) }), ...(otherItem && { other: otherItem }) };
  }

  async list(accountId: number, limit: number, nextToken?: string): Promise<Page<Webhook>> {
    const pk = keys.account(accountId);
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.webhook('') },
        Limit: limit,
        ConsistentRead: true,
        ExclusiveStartKey: decodePageToken(nextToken, { equal: { pk }, prefixed: { sk: keys.webhook('') } }),
      }),
    );
    const nextPageToken = encodePageToken(result.LastEvaluatedKey);
    return { items: (result.Items ?? []).map(fromItem), ...(nextPageToken && { nextToken: nextPageToken }) };
  }

  /** All of an account's webhooks (at most the per-account limit): one Query, for the router. */
  async listAll(accountId: number): Promise<Webhook[]> {
    const page = await this.list(accountId, 100);
    return page.items;
  }

  /** Replaces a webhook if nobody changed it since `expectedVersion` (optimistic concurrency). */
  async replace(webhook: Webhook, expectedVersion: number): Promise<void> {
    await this.transact(
      [
        {
          Put: {
            TableName: this.tableName,
            Item: toItem(webhook),
            ConditionExpression: 'attribute_exists(pk) AND version = :expected',
            ExpressionAttributeValues: { ':expected': expectedVersion },
          },
        },
        this.bumpAccountVersion(webhook.accountId),
      ],
      (reasons) =>
        reasons[0] === 'ConditionalCheckFailed' ? new PreconditionFailedError('The webhook was changed or deleted meanwhile; read it again and retry.') : undefined,
    );
  }

  /**
   * Switches an active webhook off for failing, naming the delivery that failed (sent first when it
   * is re-enabled). Returns false if it was not active any more (an
   * admin edited it meanwhile), so only one worker reports the disabling.
   */
  async disable(accountId: number, webhookId: string, reason: string, at: string, deliveryId: string): Promise<boolean> {
    const notActive = new Error('not active');
    try {
      await this.transact(
        [
          {
            Update: {
              TableName: this.tableName,
              Key: { pk: keys.account(accountId), sk: keys.webhook(webhookId) },
              UpdateExpression: 'SET #status = :disabled, statusReason = :reason, disabledBy = :delivery, updatedAt = :at, version = version + :one',
              ConditionExpression: '#status = :active',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':disabled': 'DISABLED', ':active': 'ACTIVE', ':reason': reason, ':delivery': deliveryId, ':at': at, ':one': 1 },
            },
          },
          this.bumpAccountVersion(accountId),
        ],
        (reasons) => (reasons[0] === 'ConditionalCheckFailed' ? notActive : undefined),
      );
      return true;
    } catch (error) {
      if (error === notActive) return false;
      throw error;
    }
  }

  /**
   * The account's webhooks version: bumped by every webhook write (in the same transaction), so a
   * cached list of the account's webhooks can be checked with one small read.
   */
  async accountVersion(accountId: number): Promise<number> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.account(accountId), sk: keys.limits }, ProjectionExpression: 'webhooksVersion', ConsistentRead: true }),
    );
    return Number(Item?.webhooksVersion ?? 0);
  }

  /** The versions of several accounts in one strongly consistent BatchGetItem (0 for an account without webhooks). */
  async accountVersions(accountIds: readonly number[]): Promise<Map<number, number>> {
    const versions = new Map<number, number>(accountIds.map((id) => [id, 0]));
    const limits = [...versions.keys()].map((id) => ({ pk: keys.account(id), sk: keys.limits }));
    for (const item of await readAll(this.db, this.tableName, limits, { consistent: true, projection: 'pk, webhooksVersion' })) {
      versions.set(Number(String(item.pk).split('#')[1]), Number(item.webhooksVersion ?? 0));
    }
    return versions;
  }

  private bumpAccountVersion(accountId: number) {
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: keys.account(accountId), sk: keys.limits },
        UpdateExpression: 'ADD webhooksVersion :one',
        ExpressionAttributeValues: { ':one': 1 },
      },
    };
  }

  async delete(accountId: number, webhookId: string): Promise<void> {
    await this.transact(
      [
        {
          Delete: {
            TableName: this.tableName,
            Key: { pk: keys.account(accountId), sk: keys.webhook(webhookId) },
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: { pk: keys.account(accountId), sk: keys.limits },
            UpdateExpression: 'SET webhookCount = webhookCount - :one ADD webhooksVersion :one',
            ConditionExpression: 'webhookCount > :zero',
            ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
          },
        },
        // Its fields in the account's backlog state go with it, so the item does not grow with deleted webhooks.
        {
          Update: {
            TableName: this.tableName,
            Key: backlogStateKey(accountId),
            UpdateExpression: `REMOVE ${BACKLOG_FIELDS.map((_, i) => `#f${i}`).join(', ')}`,
            ExpressionAttributeNames: Object.fromEntries(BACKLOG_FIELDS.map((field, i) => [`#f${i}`, backlogAttribute(field, webhookId)])),
          },
        },
      ],
      (reasons) => (reasons[0] === 'ConditionalCheckFailed' ? new NotFoundError('No such webhook.') : undefined),
    );
  }

  private async transact(
    items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>,
    explain: (reasons: (string | undefined)[]) => Error | undefined,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = (error.CancellationReasons ?? []).map((r) => r.Code);
        const explained = explain(reasons);
        if (explained) throw explained;
        if (!reasons.includes('TransactionConflict') || attempt >= TRANSACTION_ATTEMPTS) throw error;
        await sleep(Math.random() * 20 * 2 ** attempt);
      }
    }
  }
}

function toItem(webhook: Webhook): Record<string, unknown> {
  // Secrets are written only sealed: opened credentials, if a caller passes them along, stay out.
  const { credentials: _opened, ...stored } = webhook as Webhook & Partial<WebhookWithCredentials>;
  return { pk: keys.account(webhook.accountId), sk: keys.webhook(webhook.id), type: ITEM_TYPE, ...stored };
}

function fromItem(item: Record<string, unknown>): Webhook {
  const { pk: _pk, sk: _sk, type: _type, ...webhook } = item;
  return webhook as unknown as Webhook;
}
