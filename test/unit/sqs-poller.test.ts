import type { SQSRecord } from 'aws-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventLoopGauge, failedMessageIds, toRecord } from '../../infra/local/sqs-poller';

const arn = 'arn:aws:sqs:us-east-1:000000000000:q.fifo';

describe('toRecord', () => {
  it('builds the record Lambda builds from a received message', () => {
    const record = toRecord(
      {
        MessageId: 'm-1',
        ReceiptHandle: 'rh-1',
        Body: '{"a":1}',
        MD5OfBody: 'md5-body',
        MD5OfMessageAttributes: 'md5-attrs',
        Attributes: { ApproximateReceiveCount: '2', SentTimestamp: '1', SenderId: 'S', ApproximateFirstReceiveTimestamp: '3', MessageGroupId: 'g' },
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'x' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      },
      arn,
      'us-east-1',
    );
    expect(record).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh-1',
      body: '{"a":1}',
      attributes: { ApproximateReceiveCount: '2', SentTimestamp: '1', SenderId: 'S', ApproximateFirstReceiveTimestamp: '3', MessageGroupId: 'g' },
      messageAttributes: {
        kind: { stringValue: 'x', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: 'aGk=', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: 'md5-body',
      md5OfMessageAttributes: 'md5-attrs',
      eventSource: 'aws:sqs',
      eventSourceARN: arn,
      awsRegion: 'us-east-1',
    });
  });

  it('leaves out md5OfMessageAttributes when the message has no attributes', () => {
    const record = toRecord({ MessageId: 'm', ReceiptHandle: 'r', Body: 'b', MD5OfBody: 'x' }, arn, 'us-east-1');
    expect(record).not.toHaveProperty('md5OfMessageAttributes');
    expect(record.messageAttributes).toEqual({});
  });
});

describe('failedMessageIds (ReportBatchItemFailures)', () => {
  const records = [{ messageId: 'a' }, { messageId: 'b' }] as SQSRecord[];

  it.each([undefined, null, {}, { batchItemFailures: [] }, { batchItemFailures: null }, 'done'])(
    'treats %j as complete success',
    (response) => {
      expect(failedMessageIds(response, records)).toEqual(new Set());
    },
  );

  it('lists the reported failures', () => {
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'b' }] }, records)).toEqual(new Set(['b']));
  });

  it.each([
    { batchItemFailures: [{ itemIdentifier: 'c' }] },
    { batchItemFailures: [{ itemIdentifier: '' }] },
    { batchItemFailures: [{ itemIdentifier: null }] },
    { batchItemFailures: [{ itemIdentifer: 'a' }] },
    { batchItemFailures: [null] },
    { batchItemFailures: 'a' },
  ])('treats %j as complete failure', (response) => {
    expect(failedMessageIds(response, records)).toBeInstanceOf(Error);
  });
});

describe('eventLoopGauge', () => {
  /** Keeps the event loop busy, as routing and drains do when they fill the core. */
  const spin = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  it('says saturated after a busy stretch and not after an idle one', async () => {
    const gauge = eventLoopGauge(0.9);
    spin(150);
    expect(gauge.saturated()).toBe(true);
    await sleep(150);
    expect(gauge.saturated()).toBe(false);
  });

  it('keeps its last answer until the next sample is due', () => {
    const gauge = eventLoopGauge(0.9);
    spin(150);
    expect(gauge.saturated()).toBe(true);
    // No time has passed for a new sample: the answer stands.
    expect(gauge.saturated()).toBe(true);
  });
});
