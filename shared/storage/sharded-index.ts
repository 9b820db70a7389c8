import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from './document-db';
import { createHash } from 'node:crypto';

/**
 * Markers that many writers touch (due batch webhooks, rung doorbells) are spread over several GSI
 * partitions, so they never share one hot partition; readers query every shard.
 */
export function shardOf(id: string, shards: number): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % shards;
}

/** Every item of every shard's Query, all pages: one Query per shard page, no scan. */
export async function queryShards(
  db: DocumentDb,
  shards: number,
  query: (shard: number) => Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Record<string, unknown>[]> {
  const pages = await Promise.all(
    Array.from({ length: shards }, async (_, shard) => {
      const items: Record<string, unknown>[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new QueryCommand({ ...query(shard), ExclusiveStartKey: startKey }));
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items;
    }),
  );
  return pages.flat();
}
