import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../../infra/local/table';

/** A fresh table on the suite's DynamoDB Local, for tests that use the repositories directly. */
export async function freshTable(): Promise<{ db: DynamoDBDocumentClient; tableName: string }> {
  const tableName = `test-${Math.random().toString(36).slice(2, 10)}`;
  const client = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
  await ensureTable(client, tableName);
  return { db: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), tableName };
}
