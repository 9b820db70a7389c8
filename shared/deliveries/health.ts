import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import { keys } from '../storage/table';
import type { AttemptCounts } from '../webhooks/health-view';

/**
 * A webhook's health, kept as counters as attempts are recorded (no scan of the log): one small
 * item per webhook, `WEBHOOK#<id>` / `HEALTH`, with 24 hourly slots (`ok<slot>`, `fail<slot>`,
 * `hour<slot>`, slot = hour % 24) and the last success and failure times. The drain counts its
 * attempts a flush at a time: one UpdateItem per hour they fall in (under 1 KB: 1 write unit); the
 * first count of an hour in a slot still holding an older hour takes a second one that resets the slot.
 */
const HOUR_MS = 3600_000;
const SLOTS = 24;

/** One attempt to count: whether the listener accepted it, and when it was made. */
export interface AttemptMark {
  readonly ok: boolean;
  readonly at: Date;
}

/** What one hour's attempts add to its slot. */
interface HourTally {
  readonly hour: number;
  ok: number;
  failed: number;
  lastSuccessAt?: string;
  lastFailureAt?: string;
}

interface SlotExpression {
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
}

export class HealthCounters {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
  ) {}

  /** Counts attempts in their hours' slots (one update per hour) and stamps the last success and failure. */
  async recordAttempts(webhookId: string, attempts: readonly AttemptMark[]): Promise<void> {
    for (const tally of tallyByHour(attempts)) await this.addToSlot(webhookId, tally);
  }

  private async addToSlot(webhookId: string, tally: HourTally): Promise<void> {
    const slot = tally.hour % SLOTS;
    const stamps = Object.entries({ lastSuccessAt: tally.lastSuccessAt, lastFailureAt: tally.lastFailureAt }).filter(([, at]) => at !== undefined);
    const setStamps = stamps.map(([name]) => `${name} = :${name}`).join(', ');
    const counts: SlotExpression = {
      ExpressionAttributeNames: { '#ok': `ok${slot}`, '#fail': `fail${slot}` },
      ExpressionAttributeValues: { ':ok': tally.ok, ':fail': tally.failed, ...Object.fromEntries(stamps.map(([name, at]) => [`:${name}`, at])) },
    };
    const add = `ADD #ok :ok, #fail :fail SET ${setStamps}`;
    const ofHour: SlotExpression = {
      ExpressionAttributeNames: { ...counts.ExpressionAttributeNames, '#hour': `hour${slot}` },
      ExpressionAttributeValues: { ...counts.ExpressionAttributeValues, ':hour': tally.hour },
    };
    try {
      await this.update(webhookId, { UpdateExpression: add, ConditionExpression: '#hour = :hour', ...ofHour });
      return;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
    // The slot holds an older hour (or none): start it afresh, unless another drain just did.
    try {
      await this.update(webhookId, { UpdateExpression: `SET #ok = :ok, #fail = :fail, #hour = :hour, ${setStamps}`, ConditionExpression: 'attribute_not_exists(#hour) OR #hour < :hour', ...ofHour });
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      await this.update(webhookId, { UpdateExpression: add, ...counts });
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

  private async update(webhookId: string, expression: SlotExpression & { UpdateExpression: string; ConditionExpression?: string }): Promise<void> {
    await this.db.send(new UpdateCommand({ TableName: this.tableName, Key: healthKey(webhookId), ...expression }));
  }
}

/** Attempts grouped by the hour they were made in, each hour's latest success and failure kept. */
function tallyByHour(attempts: readonly AttemptMark[]): HourTally[] {
  const tallies = new Map<number, HourTally>();
  for (const { ok, at } of attempts) {
    const hour = Math.floor(at.getTime() / HOUR_MS);
    const tally = tallies.get(hour) ?? { hour, ok: 0, failed: 0 };
    const stamp = at.toISOString();
    if (ok) {
      tally.ok++;
      if (!tally.lastSuccessAt || stamp > tally.lastSuccessAt) tally.lastSuccessAt = stamp;
    } else {
      tally.failed++;
      if (!tally.lastFailureAt || stamp > tally.lastFailureAt) tally.lastFailureAt = stamp;
    }
    tallies.set(hour, tally);
  }
  return [...tallies.values()];
}

function healthKey(webhookId: string) {
  return { pk: keys.webhook(webhookId), sk: keys.health };
}
