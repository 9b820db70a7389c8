import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { flushDueWebhooks, type AggregatorDependencies } from '../../shared/batch/aggregator';
import { PendingStore } from '../../shared/batch/pending-store';
import { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import { DoorbellQueue } from '../../shared/deliveries/queue';
import { DeliveryStore } from '../../shared/deliveries/store';
import { WebhookStore } from '../../shared/webhooks/store';

/**
 * What a flush does when AWS says no: the real store, backlog and queue adapter over mocked clients.
 * Whatever fails, no pending event is deleted unless its delivery was written and its doorbell rung.
 */
const TABLE = 'table';
const webhookId = 'wh_00000000000000000000000001';
const accountId = 1010;

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const dbMock = mockClient(db);
const sqsClient = new SQSClient({});
const sqsMock = mockClient(sqsClient);

const throttled = () => new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: {} });

function pendingItem(n: number) {
  const event = { eventId: `evt-${n}`, eventName: 'COURSE_ENROLLMENT_BATCH', timestamp: 1000 + n, eventInfo: `${1000 + n}-0-0-0`, data: { userId: n } };
  return { pk: `PENDING#${webhookId}`, sk: `EVENT#${String(1000 + n).padStart(16, '0')}#x#evt-${n}`, arrivedAt: 5, event: JSON.stringify(event) };
}

function deps(): AggregatorDependencies {
  return {
    store: new PendingStore(db, TABLE),
    webhooks: new WebhookStore(db, TABLE),
    backlog: new DeliveryBacklog(
      new DeliveryStore(db, TABLE, 30),
      new BacklogStateStore(db, TABLE, new DoorbellQueue(sqsClient, 'https://queue.local/deliveries.fifo'), async () => []),
    ),
    scheduleExpression: 'rate(15 minutes)',
    maxEvents: 100,
    continueLater: async () => undefined,
  };
}

const invocation = () => ({ runId: 'run-1', firedAt: 0, generation: 0, remainingMs: 300_000 });

beforeEach(() => {
  dbMock.reset();
  sqsMock.reset();
  // One due webhook, in the first shard of the due index.
  dbMock.on(QueryCommand, { IndexName: 'gsi1' }).resolves({ Items: [] });
  dbMock.on(QueryCommand, { IndexName: 'gsi1', ExpressionAttributeValues: { ':shard': 'BATCH_DUE#0' } }).resolves({ Items: [{ webhookId, accountId }] });
  dbMock.on(UpdateCommand).resolves({ Attributes: { accountId, version: 3 } });
  dbMock.on(GetCommand).resolves({
    Item: { id: webhookId, accountId, status: 'ACTIVE', events: ['COURSE_ENROLLMENT_BATCH'], authType: 'NONE', targetUrl: 'https://x.example', credentials: {} },
  });
  dbMock.on(QueryCommand, { ConsistentRead: true }).resolves({ Items: [pendingItem(1), pendingItem(2), pendingItem(3)] });
  dbMock.on(TransactWriteCommand).resolves({});
  dbMock.on(PutCommand).resolves({});
  dbMock.on(BatchWriteCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

const deletes = () => dbMock.commandCalls(BatchWriteCommand);

describe('a flush against failing AWS services', () => {
  it('sends the backlog and only then deletes it, when all is well', async () => {
    const report = await flushDueWebhooks(deps(), invocation());
    expect(report).toMatchObject({ flushedEvents: 3, requests: 1, failedWebhooks: 0 });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
    const deleted = deletes().flatMap((c) => c.args[0].input.RequestItems![TABLE]!.map((r) => r.DeleteRequest!.Key!.sk));
    expect(deleted).toEqual([pendingItem(1).sk, pendingItem(2).sk, pendingItem(3).sk]);
  });

  it('deletes nothing and sends nothing while DynamoDB throttles the backlog read', async () => {
    dbMock.on(QueryCommand, { ConsistentRead: true }).rejects(throttled());
    const report = await flushDueWebhooks(deps(), invocation());
    expect(report).toMatchObject({ failedWebhooks: 1, flushedEvents: 0 });
    expect(sqsMock.commandCalls(SendMessageCommand)).toEqual([]);
    expect(deletes()).toEqual([]);
  });

  it('deletes nothing when DynamoDB throttles the delivery record', async () => {
    dbMock.on(PutCommand).rejects(throttled());
    await flushDueWebhooks(deps(), invocation());
    expect(sqsMock.commandCalls(SendMessageCommand)).toEqual([]);
    expect(deletes()).toEqual([]);
  });

  it('deletes nothing when the delivery queue refuses the message', async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error('Service unavailable'));
    const report = await flushDueWebhooks(deps(), invocation());
    expect(report).toMatchObject({ failedWebhooks: 1, flushedEvents: 0 });
    expect(deletes()).toEqual([]);
  });

  it('gives the lease back after a failure, so the next run can retry at once', async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error('Service unavailable'));
    await flushDueWebhooks(deps(), invocation());
    const updates = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input.UpdateExpression);
    expect(updates).toContain('REMOVE leaseOwner, leaseUntil');
  });

  it('fails the whole run, writing nothing, when the due index cannot be read', async () => {
    dbMock.on(QueryCommand, { IndexName: 'gsi1' }).rejects(throttled());
    await expect(flushDueWebhooks(deps(), invocation())).rejects.toThrow(ProvisionedThroughputExceededException);
    expect(dbMock.commandCalls(UpdateCommand)).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageCommand)).toEqual([]);
  });

  it('retries deletes that DynamoDB left unprocessed', async () => {
    dbMock
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: [{ DeleteRequest: { Key: { pk: 'p', sk: pendingItem(3).sk } } }] } })
      .resolves({});
    const report = await flushDueWebhooks(deps(), invocation());
    expect(report.failedWebhooks).toBe(0);
    expect(deletes()[1]!.args[0].input.RequestItems![TABLE]).toEqual([{ DeleteRequest: { Key: { pk: 'p', sk: pendingItem(3).sk } } }]);
  });
});
