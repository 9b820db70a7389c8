import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetItemCommand, DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../functions/delivery/handler';
import { resetContainer } from '../../shared/container';
import { logger } from '../../shared/observability/logger';
import { metrics } from '../../shared/observability/metrics';

/**
 * The delivery Lambda's entry, as Powertools' "testing your code" drives a handler: a real-shaped
 * SQS event, a fake context, the AWS clients mocked. Its own paths: a message that is not a
 * doorbell goes to the DLQ, a drain out of time hands its doorbell back, failures are per record.
 */
// The handlers' DynamoDB client sends DynamoDB's own commands, marshalled.
const dbMock = mockClient(DynamoDBClient);
const sqsMock = mockClient(SQSClient);

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/delivery.fifo';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/delivery-dlq.fifo';
const webhookA = 'wh_00000000000000000000000001';
const webhookB = 'wh_00000000000000000000000002';

function context(remainingMs: number): Context {
  return { awsRequestId: 'req-1', functionName: 'delivery', getRemainingTimeInMillis: () => remainingMs } as unknown as Context;
}

function record(messageId: string, body: string, groupId: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1767225600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1767225600000',
      MessageGroupId: groupId,
      MessageDeduplicationId: messageId,
      SequenceNumber: '1',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:delivery.fifo',
    awsRegion: 'us-east-1',
  };
}

const doorbell = (webhookId: string) => JSON.stringify({ accountId: 1010, webhookId });

function pendingDelivery(webhookId: string) {
  return {
    pk: `WEBHOOK#${webhookId}`,
    sk: 'DELIVERY#msg_1',
    id: 'msg_1',
    webhookId,
    accountId: 1010,
    kind: 'realtime',
    status: 'PENDING',
    events: JSON.stringify([{ eventId: 'evt-1', eventName: 'COURSE_ENROLLMENT', timestamp: 1, eventInfo: '1-0-0-0', data: {} }]),
    attemptCount: 0,
    firstArrivedAt: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    redeliveries: 0,
  };
}

beforeAll(() => {
  Object.assign(process.env, { TABLE_NAME: 'table', DELIVERY_QUEUE_URL: QUEUE_URL, DELIVERY_DLQ_URL: DLQ_URL });
  resetContainer();
});
afterAll(() => {
  for (const key of ['TABLE_NAME', 'DELIVERY_QUEUE_URL', 'DELIVERY_DLQ_URL']) delete process.env[key];
  resetContainer();
});

beforeEach(() => {
  jest.restoreAllMocks();
  dbMock.reset();
  sqsMock.reset();
  // A webhook deleted meanwhile and no backlog state: nothing is sent, no credentials are opened.
  dbMock.on(BatchGetItemCommand).resolves({ Responses: { table: [] } });
  dbMock.on(QueryCommand).resolves({ Items: [] });
  dbMock.on(UpdateItemCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({});
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
});

describe('the delivery handler', () => {
  test('moves a message that is not a doorbell to the DLQ and does not fail it', async () => {
    const event: SQSEvent = { Records: [record('m-1', 'not a doorbell', 'some-group')] };

    const response = await handler(event, context(150_000));

    expect(response).toEqual({ batchItemFailures: [] });
    const sent = sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(sent).toEqual([expect.objectContaining({ QueueUrl: DLQ_URL, MessageBody: 'not a doorbell', MessageGroupId: 'some-group' })]);
  });

  test('out of time with work left: hands the doorbell back at once and reports it failed', async () => {
    dbMock.on(QueryCommand).resolves({ Items: [marshall(pendingDelivery(webhookA))] });
    const event: SQSEvent = { Records: [record('m-1', doorbell(webhookA), webhookA)] };

    const response = await handler(event, context(5_000));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    const held = sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
    expect(held).toEqual([{ QueueUrl: QUEUE_URL, ReceiptHandle: 'receipt-m-1', VisibilityTimeout: 0 }]);
  });

  test('partial batch response: only the doorbell whose drain failed comes back', async () => {
    dbMock.on(BatchGetItemCommand).callsFake((input: { RequestItems: Record<string, unknown> }) => {
      if (JSON.stringify(input.RequestItems).includes(webhookB)) throw new Error('DynamoDB is unavailable');
      return { Responses: { table: [] } };
    });
    const event: SQSEvent = { Records: [record('m-a', doorbell(webhookA), webhookA), record('m-b', doorbell(webhookB), webhookB)] };

    const response = await handler(event, context(150_000));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-b' }] });
  });

  test('Lambda plumbing: the invocation context goes on the log lines, and metrics are flushed even when the handler throws', async () => {
    const addContext = jest.spyOn(logger, 'addContext');
    const publish = jest.spyOn(metrics, 'publishStoredMetrics');
    const invocation = context(150_000);

    await expect(handler({} as SQSEvent, invocation)).rejects.toThrow();

    expect(addContext).toHaveBeenCalledWith(invocation);
    expect(publish).toHaveBeenCalledTimes(1);
  });
});
