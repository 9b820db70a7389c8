import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import { keys } from '../storage/table';

/**
 * The time the service gave a real-time event that arrived without a `timestamp`, pinned to its
 * eventId (`EVENT#<accountId>#<eventId>` / `PIN`, kept for ALM's 7-day window). A delivery's id —
 * and so its place in the backlog and its idempotency — derives from the event's time, so the
 * same eventId put twice must get the same time; events that carry their own need no pin.
 *
 * Pinned times come from a clock that never repeats a millisecond within a router container, so
 * events routed one after another keep their order in the backlog.
 */
const PIN_SECONDS = 7 * 24 * 3600;

export class EventPins {
  private last = 0;

  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The event's pinned time: a new one, or the one its first arrival was given. */
  async pin(accountId: number, eventId: string): Promise<number> {
    const key = keys.eventPin(accountId, eventId);
    this.last = Math.max(this.now(), this.last + 1);
    const timestamp = this.last;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, timestamp, expiresAt: Math.floor(timestamp / 1000) + PIN_SECONDS },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return timestamp;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return Number(Item?.timestamp);
  }
}
