import { SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../functions/router/handler';
import { resetContainer } from '../../shared/container';

/**
 * The router Lambda's entry, as Powertools' "testing your code" drives a handler: a real-shaped SQS
 * event of producer events, a fake context, the AWS clients mocked. A rejected event is recorded,
 * not failed; a record whose routing fails is the only one reported back.
 */
// The handlers' DynamoDB client sends DynamoDB's own commands, marshalled.
const dbMock = mockClient(DynamoDBClient);
const sqsMock = mockClient(SQSClient);

const context = { awsRequestId: 'req-1', functionName: 'router', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function record(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1767225600000', SenderId: 'AIDAEXAMPLE', ApproximateFirstReceiveTimestamp: '1767225600000' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ingest',
    awsRegion: 'us-east-1',
  };
}

/** A producer event as the bus's rule delivers it to the ingest queue. */
function producerEvent(accountId: number, eventId: string): string {
  return JSON.stringify({
    version: '0',
    id: `bus-${eventId}`,
    'detail-type': 'COURSE_ENROLLMENT',
    source: 'lms',
    account: '000000000000',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { accountId, eventId, timestamp: 1767225600000, data: { userId: 1, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course', enrollmentSource: 'SELF_ENROLL' } },
  });
}

beforeAll(() => {
  Object.assign(process.env, { TABLE_NAME: 'table', DELIVERY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/delivery.fifo' });
  resetContainer();
});
afterAll(() => {
  for (const key of ['TABLE_NAME', 'DELIVERY_QUEUE_URL']) delete process.env[key];
  resetContainer();
});

beforeEach(() => {
  dbMock.reset();
  sqsMock.reset();
  // Accounts without webhooks: an accepted event has nowhere to go.
  dbMock.on(GetItemCommand).resolves({});
  // The batch's accounts' webhooks versions, read together: none has webhooks yet.
  dbMock.on(BatchGetItemCommand).resolves({ Responses: {} });
  dbMock.on(QueryCommand).resolves({ Items: [] });
  dbMock.on(PutItemCommand).resolves({});
});

describe('the router handler', () => {
  test('partial batch response: a rejected event is recorded, not failed; only the record whose routing failed comes back', async () => {
    dbMock.on(QueryCommand, { ExpressionAttributeValues: marshall({ ':pk': 'ACCOUNT#3003', ':prefix': 'WEBHOOK#' }) }).rejects(new Error('DynamoDB is unavailable'));
    const event: SQSEvent = {
      Records: [record('m-ok', producerEvent(2002, 'evt-1')), record('m-rejected', 'not an event'), record('m-failed', producerEvent(3003, 'evt-2'))],
    };

    const response = await handler(event, context);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-failed' }] });
    const rejected = dbMock.commandCalls(PutItemCommand).map((call) => unmarshall(call.args[0].input.Item!));
    expect(rejected).toEqual([expect.objectContaining({ raw: 'not an event' })]);
  });

  test('a batch whose every record fails is reported back whole, not thrown', async () => {
    dbMock.on(BatchGetItemCommand).rejects(new Error('DynamoDB is unavailable'));
    const event: SQSEvent = { Records: [record('m-1', producerEvent(2002, 'evt-1')), record('m-2', producerEvent(3003, 'evt-2'))] };

    const response = await handler(event, context);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-2' }] });
  });
});
