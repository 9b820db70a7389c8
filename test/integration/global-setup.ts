import { startDynamoDbLocal } from '../../infra/local/dynamodb-local';

/** One in-memory DynamoDB Local for the integration suite; each test file creates its own table. */
export default async function globalSetup(): Promise<void> {
  const db = await startDynamoDbLocal({ quickStart: true });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
  (globalThis as { __dynamoDbLocal?: typeof db }).__dynamoDbLocal = db;
}
