import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';

/** BatchWriteItem's limit: requests per call. */
export const WRITE_BATCH = 25;
/** The pause before resending unprocessed writes starts here and doubles, up to the cap (full jitter). */
const FIRST_PAUSE_MS = 25;
const MAX_PAUSE_MS = 1000;

export type WriteRequest = { readonly PutRequest: { readonly Item: Record<string, unknown> } } | { readonly DeleteRequest: { readonly Key: Record<string, unknown> } };

/**
 * Writes `requests` to one table with BatchWriteItem, 25 per call. What DynamoDB leaves unprocessed
 * (it throttled part of the batch) is sent again after a short, growing pause until all of it is
 * written: giving up would leave work done but unrecorded. Any error propagates.
 */
export async function writeAll(db: DynamoDBDocumentClient, tableName: string, requests: readonly WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += WRITE_BATCH) {
    let pending = requests.slice(i, i + WRITE_BATCH);
    for (let retry = 0; pending.length > 0; retry++) {
      if (retry > 0) await sleep(Math.random() * Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** retry));
      const { UnprocessedItems } = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: [...pending] } }));
      pending = (UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    }
  }
}
