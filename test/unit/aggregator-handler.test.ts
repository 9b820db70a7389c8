import { PutEventsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../functions/aggregator/handler';
import { resetSettings } from '../../shared/config';
import { BATCH_CONTINUATION, INTERNAL_SOURCE } from '../../shared/events/sources';

/** The aggregator Lambda's entry: which runs it recognises, and how it hands on unfinished work. */
// The handlers' DynamoDB client sends DynamoDB's own commands, marshalled.
const dbMock = mockClient(DynamoDBClient);
const sqsMock = mockClient(SQSClient);
const busMock = mockClient(EventBridgeClient);

const webhookId = 'wh_00000000000000000000000001';

function context(remainingMs: number): Context {
  return { awsRequestId: 'req-1', functionName: 'aggregator', getRemainingTimeInMillis: () => remainingMs } as unknown as Context;
}

function pendingItem(n: number) {
  const event = { eventId: `evt-${n}`, eventName: 'COURSE_ENROLLMENT_BATCH', timestamp: n, eventInfo: `${n}-0-0-0`, data: { userId: n } };
  return { sk: `EVENT#${String(n).padStart(16, '0')}#x#evt-${n}`, arrivedAt: 1, event: JSON.stringify(event) };
}

beforeAll(() => {
  Object.assign(process.env, { TABLE_NAME: 'table', DELIVERY_QUEUE_URL: 'https://queue.local/d.fifo', BATCH_MAX_EVENTS: '1', EVENT_BUS_NAME: 'lms-webhooks' });
  resetSettings();
});
afterAll(() => {
  for (const key of ['TABLE_NAME', 'DELIVERY_QUEUE_URL', 'BATCH_MAX_EVENTS', 'EVENT_BUS_NAME']) delete process.env[key];
  resetSettings();
});

beforeEach(() => {
  dbMock.reset();
  sqsMock.reset();
  busMock.reset();
  jest.restoreAllMocks();
  dbMock.on(QueryCommand, { IndexName: 'gsi1' }).resolves({ Items: [] });
  dbMock.on(QueryCommand, { IndexName: 'gsi1', ExpressionAttributeValues: marshall({ ':shard': 'BATCH_DUE#0' }) }).resolves({ Items: [marshall({ webhookId, accountId: 1010 })] });
  dbMock.on(UpdateItemCommand).resolves({ Attributes: marshall({ accountId: 1010, version: 1 }) });
  dbMock
    .on(GetItemCommand)
    .resolves({ Item: marshall({ id: webhookId, accountId: 1010, status: 'ACTIVE', events: ['COURSE_ENROLLMENT_BATCH'], authType: 'NONE', credentials: {} }) });
  dbMock.on(QueryCommand, { ConsistentRead: true }).resolves({ Items: [pendingItem(1), pendingItem(2), pendingItem(3)].map((item) => marshall(item)) });
  dbMock.on(TransactWriteItemsCommand).resolves({});
  dbMock.on(PutItemCommand).resolves({});
  dbMock.on(BatchWriteItemCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({});
  busMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
});

const recordedRuns = () =>
  dbMock
    .commandCalls(UpdateItemCommand)
    .map((c) => ({ key: unmarshall(c.args[0].input.Key!), values: unmarshall(c.args[0].input.ExpressionAttributeValues ?? {}) }))
    .filter((update) => update.key.pk === 'BATCH');

describe('the aggregator handler', () => {
  it('flushes on EventBridge’s scheduled event and records when the schedule fired', async () => {
    const report = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-01-01T00:15:00Z', detail: {} }, context(300_000));
    expect(report).toMatchObject({ flushedEvents: 3, requests: 3, continued: false });
    expect(recordedRuns().map((update) => update.values[':firedAt'])).toEqual([Date.parse('2026-01-01T00:15:00Z')]);
    expect(busMock.commandCalls(PutEventsCommand)).toEqual([]);
  });

  it('hands the rest on with a continuation event when its time runs out', async () => {
    let clock = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    sqsMock.on(SendMessageCommand).callsFake(() => {
      clock += 100_000;
      return {};
    });

    const report = await handler({ time: '2026-01-01T00:15:00Z' }, context(150_000));

    expect(report).toMatchObject({ unfinished: true, continued: true });
    expect(report.flushedEvents).toBeLessThan(3);
    const [entry] = busMock.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(entry).toMatchObject({ EventBusName: 'lms-webhooks', Source: INTERNAL_SOURCE, DetailType: BATCH_CONTINUATION });
    expect(JSON.parse(entry!.Detail!)).toEqual({ firedAt: Date.parse('2026-01-01T00:15:00Z'), generation: 1 });
  });

  it('runs a continuation without recording a new schedule run', async () => {
    const continuation = { source: INTERNAL_SOURCE, 'detail-type': BATCH_CONTINUATION, detail: { firedAt: 42, generation: 3 } };
    const report = await handler(continuation, context(300_000));
    expect(report.flushedEvents).toBe(3);
    expect(recordedRuns()).toEqual([]);
  });

  it('refuses an invocation that is not an event object', async () => {
    await expect(handler('flush please', context(300_000))).rejects.toThrow();
    await expect(handler({ time: 'yesterday' }, context(300_000))).rejects.toThrow();
  });
});
