import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import { newId } from '../ids';
import { keys } from '../storage/table';

/**
 * Events the service could not accept, kept with the reason for operators (never silently
 * dropped): partition `REJECTED#<yyyy-mm-dd>`, newest last, for 30 days.
 */
const KEEP_DAYS = 30;
const KEEP_RAW_BYTES = 8 * 1024;

export interface RejectedEvent {
  readonly id: string;
  readonly reason: string;
  readonly eventName?: string;
  readonly accountId?: number;
  readonly receivedAt: string;
  /** The message as received, cut to 8 KB. */
  readonly raw: string;
}

export class RejectedEventStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
  ) {}

  async add(rejection: Omit<RejectedEvent, 'id' | 'receivedAt' | 'raw'>, raw: string, at = new Date()): Promise<RejectedEvent> {
    const item: RejectedEvent = {
      id: newId('rej', at.getTime()),
      ...rejection,
      receivedAt: at.toISOString(),
      raw: Buffer.from(raw, 'utf8').subarray(0, KEEP_RAW_BYTES).toString('utf8'),
    };
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: partition(at), sk: item.id, ...item, expiresAt: Math.floor(at.getTime() / 1000) + KEEP_DAYS * 86400 },
      }),
    );
    return item;
  }

  async listDay(day: Date, limit = 100): Promise<RejectedEvent[]> {
    const { Items } = await this.db.send(
      new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': partition(day) }, Limit: limit }),
    );
    return (Items ?? []).map(({ pk: _pk, sk: _sk, expiresAt: _ttl, ...rest }) => rest as RejectedEvent);
  }
}

function partition(at: Date): string {
  return keys.rejected(at.toISOString().slice(0, 10));
}
