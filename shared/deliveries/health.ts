import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from '../storage/table';
import type { AttemptCounts } from '../webhooks/health-view';

/**
 * A webhook's health, kept as counters as attempts are recorded (no scan of the log): one small
 * item per webhook, `WEBHOOK#<id>` / `HEALTH`, with 24 hourly slots (`ok<slot>`, `fail<slot>`,
 * `hour<slot>`, slot = hour % 24) and the last success and failure times. Each attempt adds one
 * UpdateItem of that item (under 1 KB: 1 write unit); the first attempt of an hour in a slot still
 * holding an older hour takes a second one that resets the slot.
 */
const HOUR_MS = 3600_000;
const SLOTS = 24;


export class HealthCounters {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Counts one attempt in its hour's slot and stamps the last success or failure. */
  async recordAttempt(webhookId: string, ok: boolean, at: Date): Promise<void> {
    const hour = Math.floor(at.getTime() / HOUR_MS);
    const slot = hour % SLOTS;
    const counted = { '#count': `${ok ? 'ok' : 'fail'}${slot}`, '#last': ok ? 'lastSuccessAt' : 'lastFailureAt' };
    const names = { ...counted, '#hour': `hour${slot}` };
    const values = { ':one': 1, ':hour': hour, ':at': at.toISOString() };
    try {
      await this.update({ UpdateExpression: 'ADD #count :one SET #last = :at', ConditionExpression: '#hour = :hour', ExpressionAttributeNames: names, ExpressionAttributeValues: values, webhookId });
      return;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
    // The slot holds an older hour (or none): start it afresh, unless another attempt just did.
    try {
      await this.update({
        UpdateExpression: 'SET #count = :one, #other = :zero, #hour = :hour, #last = :at',
        ConditionExpression: 'attribute_not_exists(#hour) OR #hour < :hour',
        ExpressionAttributeNames: { ...names, '#other': `${ok ? 'fail' : 'ok'}${slot}` },
        ExpressionAttributeValues: { ...values, ':zero': 0 },
        webhookId,
      });
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      await this.update({ UpdateExpression: 'ADD #count :one SET #last = :at', ExpressionAttributeNames: counted, ExpressionAttributeValues: { ':one': 1, ':at': values[':at'] }, webhookId });
    }
  }

  /** The last 24 hourly slots' counts (the current hour and the 23 before it). */
  async read(webhookId: string, now: Date): Promise<AttemptCounts> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: healthKey(webhookId) }));
    const hour = Math.floor(now.getTime() / HOUR_MS);
    let attempts24h = 0;
    let succeeded24h = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      const held = Number(Item?.[`hour${slot}`] ?? -1);
      if (held <= hour - SLOTS) continue;
      const ok = Number(Item?.[`ok${slot}`] ?? 0);
      succeeded24h += ok;
      attempts24h += ok + Number(Item?.[`fail${slot}`] ?? 0);
    }
    return {
      attempts24h,
      succeeded24h,
      ...(typeof Item?.lastSuccessAt === 'string' && { lastSuccessAt: Item.lastSuccessAt }),
      ...(typeof Item?.lastFailureAt === 'string' && { lastFailureAt: Item.lastFailureAt }),
    };
  }

  private async update(input: { webhookId: string; UpdateExpression: string; ConditionExpression?: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Record<string, unknown> }) {
    const { webhookId, ...expression } = input;
    await this.db.send(new UpdateCommand({ TableName: this.tableName, Key: healthKey(webhookId), ...expression }));
  }
}

function healthKey(webhookId: string) {
  return { pk: keys.webhook(webhookId), sk: keys.health };
}
