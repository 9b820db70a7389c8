import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** What the stores need of DynamoDB: lib-dynamodb's commands sent (see shared/adapters/dynamodb.ts). */
export type DocumentDb = Pick<DynamoDBDocumentClient, 'send'>;
