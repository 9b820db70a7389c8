import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from './document-db';
import { setTimeout as sleep } from 'node:timers/promises';

/** BatchWriteItem's limit: requests per call. */
export const WRITE_BATCH = 25;
/** BatchGetItem's limit: keys per call. */
const READ_BATCH = 100;
/** Resends of unprocessed reads before the read fails: a read can be tried again by its caller. */
const READ_RETRIES = 8;
/** The pause before resending unprocessed work starts here and doubles, up to the cap (full jitter). */
const FIRST_PAUSE_MS = 25;
const MAX_PAUSE_MS = 1000;

export type WriteRequest = { readonly PutRequest: { readonly Item: Record<string, unknown> } } | { readonly DeleteRequest: { readonly Key: Record<string, unknown> } };

const pause = (retry: number) => sleep(Math.random() * Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** retry));

/**
 * Writes `requests` to one table with BatchWriteItem, 25 per call. What DynamoDB leaves unprocessed
 * (it throttled part of the batch) is sent again after a short, growing pause until all of it is
 * written: giving up would leave work done but unrecorded. Any error propagates.
 */
export async function writeAll(db: DocumentDb, tableName: string, requests: readonly WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += WRITE_BATCH) {
    let pending = requests.slice(i, i + WRITE_BATCH);
    for (let retry = 0; pending.length > 0; retry++) {
      if (retry > 0) await pause(retry);
      const { UnprocessedItems } = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: [...pending] } }));
      pending = (UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    }
  }
}

/**
 * Reads the items of `keys` from one table with BatchGetItem, 100 keys per call, in no particular
 * order (missing items are simply absent). Unprocessed keys are asked for again after a short,
 * growing pause; a read still incomplete after 8 resends fails.
 */
export async function readAll(
  db: DocumentDb,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  options: { readonly consistent?: boolean; readonly projection?: string } = {},
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += READ_BATCH) {
    let pending = keys.slice(i, i + READ_BATCH);
    for (let retry = 0; pending.length > 0; retry++) {
      if (retry > READ_RETRIES) throw new Error(`DynamoDB left ${pending.length} reads unprocessed after ${READ_RETRIES} retries.`);
      if (retry > 0) await pause(retry);
      const { Responses, UnprocessedKeys } = await db.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: { Keys: [...pending], ...(options.consistent && { ConsistentRead: true }), ...(options.projection && { ProjectionExpression: options.projection }) },
          },
        }),
      );
      found.push(...(Responses?.[tableName] ?? []));
      pending = UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return found;
}
