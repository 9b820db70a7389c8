import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { lazy } from '../lazy';

/**
 * One DynamoDB document client per container, reused across invocations (connection reuse is most
 * of a warm request's latency). `AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local.
 */
export const dynamoDb = /* @__PURE__ */ lazy(() => DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }));
