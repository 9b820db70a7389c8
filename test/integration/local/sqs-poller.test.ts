import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type Poller, type SqsHandler, startPoller } from '../../../infra/local/sqs-poller';
import { type LocalQueues, startLocalQueues } from '../../../infra/local/queues';
import { gate, hasSettled, region, sqsClient } from './aws';
import { eventually } from '../support/eventually';

let queues: LocalQueues;
let sqs: SQSClient;
let poller: Poller | undefined;
let queueCount = 0;

beforeAll(async () => {
  queues = await startLocalQueues();
  sqs = sqsClient(queues.endpoint);
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
});

afterAll(async () => {
  sqs.destroy();
  await queues.stop();
});

/** A fresh queue per test; a visibility timeout of 1 s makes failed batches come back quickly. */
async function testQueue(fifo = false, visibilitySeconds = 1): Promise<{ url: string; arn: string }> {
  const name = `poller-${++queueCount}${fifo ? '.fifo' : ''}`;
  const attributes = fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {};
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: String(visibilitySeconds), ...attributes } }));
  return { url: QueueUrl!, arn: `arn:aws:sqs:${region}:000000000000:${name}` };
}

function poll(queue: { url: string; arn: string }, handler: SqsHandler, concurrency = 1, batchSize = 10, saturated?: () => boolean): void {
  poller = startPoller({
    sqsClient: sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    region,
    batchSize,
    ...(saturated && { saturated }),
    concurrency,
    handler,
    functionTimeoutMs: 5000,
    functionName: 'test-consumer',
    onError: () => undefined,
  });
}

async function remaining(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
}

it('invokes the handler with the SQSEvent and context Lambda gives', async () => {
  const queue = await testQueue(true);
  const invoked = gate();
  let seen: { event: SQSEvent; context: Context; remainingMs: number } | undefined;
  poll(queue, (event, context) => {
    seen = { event, context, remainingMs: context.getRemainingTimeInMillis() };
    invoked.open();
  });
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queue.url,
      MessageBody: '{"hello":"world"}',
      MessageGroupId: 'webhook-1',
      MessageDeduplicationId: 'delivery-1',
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'realtime' } },
    }),
  );
  await invoked.opened;

  expect(seen!.event.Records).toEqual([
    {
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: '{"hello":"world"}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d+$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
        SequenceNumber: expect.any(String),
        MessageGroupId: 'webhook-1',
        MessageDeduplicationId: 'delivery-1',
      },
      messageAttributes: { kind: { stringValue: 'realtime', stringListValues: [], binaryListValues: [], dataType: 'String' } },
      md5OfBody: expect.any(String),
      md5OfMessageAttributes: expect.any(String),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: region,
    },
  ]);
  expect(seen!.context).toMatchObject({ functionName: 'test-consumer', awsRequestId: expect.any(String) });
  expect(seen!.remainingMs).toBeGreaterThan(0);
  expect(seen!.remainingMs).toBeLessThanOrEqual(5000);
});

it('deletes all but the reported failures; a failure comes back after the visibility the handler set', async () => {
  const queue = await testQueue();
  const seen: Array<[string, string]> = [];
  const redelivered = gate();
  poll(queue, async ({ Records }): Promise<SQSBatchResponse> => {
    const batchItemFailures = [];
    for (const record of Records) {
      const receives = record.attributes.ApproximateReceiveCount;
      seen.push([record.body, receives]);
      if (record.body === 'b' && receives === '1') {
        // The delivery handler's back-off: hold the message, report it failed.
        await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 1 }));
        batchItemFailures.push({ itemIdentifier: record.messageId });
      } else if (record.body === 'b') {
        redelivered.open();
      }
    }
    return { batchItemFailures };
  });
  await sqs.send(
    new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: ['a', 'b', 'c'].map((body) => ({ Id: body, MessageBody: body })) }),
  );
  await redelivered.opened;
  await poller!.stop();

  expect(seen.filter(([, receives]) => receives === '1').map(([body]) => body).sort()).toEqual(['a', 'b', 'c']);
  expect(seen.filter(([, receives]) => receives !== '1')).toEqual([['b', '2']]);
  expect(await remaining(queue.url)).toBe(0);
});

it('takes what a standard queue already holds, up to a batch size above 10, and a lone message at once', async () => {
  const queue = await testQueue();
  const bodies = Array.from({ length: 35 }, (_, i) => `m${i}`);
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: bodies.slice(i, i + 10).map((body) => ({ Id: body, MessageBody: body })) }));
  }
  const batches: string[][] = [];
  const lone = gate();
  poll(
    queue,
    ({ Records }) => {
      batches.push(Records.map((r) => r.body));
      if (Records.some((r) => r.body === 'lone')) lone.open();
    },
    1,
    25,
  );
  await eventually(async () => batches.flat().length, (handled) => handled === bodies.length);
  await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'lone' }));
  await lone.opened;
  await poller!.stop();

  expect(batches.map((b) => b.length)).toEqual([25, 10, 1]);
  expect(batches.flat().sort()).toEqual([...bodies, 'lone'].sort());
  // Deleted in chunks of 10 (SQS's limit per DeleteMessageBatch): nothing comes back.
  expect(await remaining(queue.url)).toBe(0);
});

it('while the core is saturated, starts invocations beside a running one at most one a second, and still all of them', async () => {
  // Messages stay invisible while their invocations are held.
  const queue = await testQueue(false, 30);
  let looked = 0;
  const started: number[] = [];
  const release = gate();
  poll(
    queue,
    async () => {
      started.push(performance.now());
      await release.opened;
    },
    4,
    1,
    () => (looked++, true),
  );
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: ['a', 'b', 'c'].map((body) => ({ Id: body, MessageBody: body })) }));
  // Held invocations (a slow listener, say) do not keep the others waiting: all three run at once.
  await eventually(async () => started.length, (count) => count === 3);
  release.open();
  await eventually(() => remaining(queue.url), (left) => left === 0);

  expect(looked).toBeGreaterThanOrEqual(3);
  const gaps = started.slice(1).map((at, i) => at - started[i]!);
  // A few ms of slack: timers fire on the loop's cached clock.
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(995);
});

it('refuses a batch size above 10 for a FIFO queue, as Lambda does', async () => {
  const queue = await testQueue(true);
  expect(() => poll(queue, () => undefined, 1, 11)).toThrow(/batchSize must be 1-10/);
});

it('retries the whole batch when the handler throws', async () => {
  const queue = await testQueue();
  const batches: Array<Array<[string, string]>> = [];
  const retried = gate();
  poll(queue, ({ Records }) => {
    batches.push(Records.map((r) => [r.body, r.attributes.ApproximateReceiveCount]));
    if (batches.length === 1) throw new Error('handler crashed');
    retried.open();
  });
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: ['x', 'y'].map((body) => ({ Id: body, MessageBody: body })) }));
  await retried.opened;
  await poller!.stop();

  expect(batches).toEqual([
    [['x', '1'], ['y', '1']],
    [['x', '2'], ['y', '2']],
  ]);
  expect(await remaining(queue.url)).toBe(0);
});

it('retries the whole batch when a reported failure names no message of the batch', async () => {
  const queue = await testQueue();
  const receives: string[] = [];
  const retried = gate();
  poll(queue, ({ Records }) => {
    receives.push(...Records.map((r) => r.attributes.ApproximateReceiveCount));
    if (receives.length === 1) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
    retried.open();
    return undefined;
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'm' }));
  await retried.opened;
  expect(receives).toEqual(['1', '2']);
});

it('keeps FIFO order within a group across batches while another group proceeds', async () => {
  const queue = await testQueue(true);
  const order: string[] = [];
  const firstStarted = gate();
  const groupBDone = gate();
  const handler = async ({ Records }: SQSEvent) => {
    for (const record of Records as SQSRecord[]) {
      order.push(record.body);
      if (record.body === 'a1') {
        // Hold group A's head in flight until group B has gone through.
        firstStarted.open();
        await groupBDone.opened;
      }
      if (record.body === 'b3') groupBDone.open();
    }
  };
  poll(queue, handler, 2);
  const send = (group: string, bodies: string[]) =>
    sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: bodies.map((body) => ({ Id: body, MessageBody: body, MessageGroupId: group })),
      }),
    );
  await send('A', ['a1', 'a2', 'a3', 'a4', 'a5']);
  await firstStarted.opened;
  await send('B', ['b1', 'b2', 'b3']);
  await groupBDone.opened;
  await waitFor(async () => (await remaining(queue.url)) === 0);

  expect(order.filter((b) => b.startsWith('a'))).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
  expect(order.filter((b) => b.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
  // Group B went through while a1 was still in flight.
  expect(order.indexOf('b3')).toBeLessThan(order.indexOf('a2'));
});

it('stop() waits for an invocation in progress, whose messages are then deleted', async () => {
  const queue = await testQueue();
  const started = gate();
  const release = gate();
  poll(queue, async () => {
    started.open();
    await release.opened;
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'in flight' }));
  await started.opened;

  const stopping = poller!.stop();
  expect(await hasSettled(stopping)).toBe(false);

  release.open();
  await stopping;
  expect(await remaining(queue.url)).toBe(0);
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}
