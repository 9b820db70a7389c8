import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { describeRecovery, type LocalQueues, startLocalQueues } from '../../../infra/local/queues';
import { credentials, region, sqsClient } from './aws';

describe('the queues', () => {
  let queues: LocalQueues;
  let sqs: SQSClient;

  beforeAll(async () => {
    queues = await startLocalQueues();
    sqs = sqsClient(queues.endpoint);
  });

  afterAll(async () => {
    sqs.destroy();
    await queues.stop();
  });

  const attributes = async (QueueUrl: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes!;

  it('have the attributes the stack gives them', async () => {
    expect(await attributes(queues.ingestQueueUrl)).toMatchObject({
      VisibilityTimeout: '180',
      MessageRetentionPeriod: String(4 * 24 * 3600),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queues.ingestDlqArn, maxReceiveCount: 5 }),
    });
    expect(await attributes(queues.ingestDlqUrl)).toMatchObject({ MessageRetentionPeriod: String(14 * 24 * 3600) });

    const delivery = await attributes(queues.deliveryQueueUrl);
    expect(delivery).toMatchObject({
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      VisibilityTimeout: '180',
      MessageRetentionPeriod: String(14 * 24 * 3600),
    });
    expect(delivery).not.toHaveProperty('RedrivePolicy');
    expect(queues.deliveryQueueUrl).toMatch(/\.fifo$/);
    expect(await attributes(queues.deliveryDlqUrl)).toMatchObject({
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      MessageRetentionPeriod: String(14 * 24 * 3600),
    });
  });

  it('serve clients configured only by AWS_ENDPOINT_URL_SQS: queue URLs share the endpoint origin', async () => {
    expect(new URL(queues.deliveryQueueUrl).origin).toBe(queues.endpoint);
    const previous = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = queues.endpoint;
    const warn = jest.spyOn(console, 'warn');
    const fromEnvironment = new SQSClient({ region, credentials });
    try {
      await fromEnvironment.send(new SendMessageCommand({ QueueUrl: queues.ingestDlqUrl, MessageBody: 'via env' }));
      const { Messages } = await fromEnvironment.send(new ReceiveMessageCommand({ QueueUrl: queues.ingestDlqUrl }));
      expect(Messages?.[0].Body).toBe('via env');
      expect(warn).not.toHaveBeenCalled();
    } finally {
      fromEnvironment.destroy();
      warn.mockRestore();
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      else process.env.AWS_ENDPOINT_URL_SQS = previous;
    }
  });

  it('move an ingest message to its dead-letter queue on the receive after the fifth', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.ingestQueueUrl, MessageBody: 'poison' }));
    const receive = () =>
      sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.ingestQueueUrl, VisibilityTimeout: 0, MessageSystemAttributeNames: ['All'] }));
    const counts: string[] = [];
    for (let i = 0; i < 5; i++) counts.push((await receive()).Messages![0].Attributes!.ApproximateReceiveCount!);
    expect(counts).toEqual(['1', '2', '3', '4', '5']);

    expect((await receive()).Messages).toBeUndefined();
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.ingestDlqUrl }));
    expect(Messages?.map((m) => m.Body)).toEqual(['poison']);
  });
});

describe('queued messages across restarts', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-queues-'));
  });

  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const receive = (sqs: SQSClient, QueueUrl: string, WaitTimeSeconds = 0) =>
    sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );

  it('are saved on stop and queued again on start, hidden ones staying hidden, FIFO order kept', async () => {
    const before = await startLocalQueues({ dataDir });
    let sqs = sqsClient(before.endpoint);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: before.ingestQueueUrl,
        MessageBody: '{"event":1}',
        MessageAttributes: {
          text: { DataType: 'String', StringValue: 'é' },
          count: { DataType: 'Number', StringValue: '42' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 255]) },
        },
      }),
    );
    const deliver = (group: string, body: string) =>
      sqs.send(
        new SendMessageCommand({ QueueUrl: before.deliveryQueueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: `d-${body}` }),
      );
    for (const body of ['a1', 'a2', 'a3']) await deliver('A', body);
    for (const body of ['b1', 'b2']) await deliver('B', body);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: before.deliveryDlqUrl, MessageBody: 'dead', MessageGroupId: 'A', MessageDeduplicationId: 'd-dead' }),
    );
    // a1 is being retried: held back for a while, as the delivery handler does; b1 is let go.
    for (const { Body, ReceiptHandle } of (await receive(sqs, before.deliveryQueueUrl)).Messages!) {
      const VisibilityTimeout = Body === 'a1' ? 2 : 0;
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: before.deliveryQueueUrl, ReceiptHandle, VisibilityTimeout }));
    }
    sqs.destroy();
    await before.stop();

    const after = await startLocalQueues({ dataDir });
    sqs = sqsClient(after.endpoint);
    try {
      expect(after.recovered).toMatchObject({ stoppedCleanly: true });
      expect(describeRecovery(after.recovered!)).toMatch(
        /^restored 7 queued messages from \S+ \(lms-webhooks-ingest: 1, lms-webhooks-delivery.fifo: 5, lms-webhooks-delivery-dlq.fifo: 1\)$/,
      );

      const [ingested] = (await receive(sqs, after.ingestQueueUrl)).Messages!;
      expect(ingested.Body).toBe('{"event":1}');
      expect(ingested.MessageAttributes).toEqual({
        text: { DataType: 'String', StringValue: 'é' },
        count: { DataType: 'Number', StringValue: '42' },
        blob: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 255]) },
      });
      expect((await receive(sqs, after.deliveryDlqUrl)).Messages?.map((m) => m.Body)).toEqual(['dead']);

      // Group A waits behind its held head; group B is free.
      const delivered: Message[] = [];
      const first = (await receive(sqs, after.deliveryQueueUrl)).Messages!;
      expect(first.map((m) => m.Body)).toEqual(['b1']);
      delivered.push(...first);
      await deleteAll(sqs, after.deliveryQueueUrl, first);
      while (delivered.length < 5) {
        const { Messages = [] } = await receive(sqs, after.deliveryQueueUrl, 5);
        delivered.push(...Messages);
        await deleteAll(sqs, after.deliveryQueueUrl, Messages);
      }
      const bodies = delivered.map((m) => m.Body!);
      expect(bodies.filter((b) => b.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
      expect(bodies.filter((b) => b.startsWith('b'))).toEqual(['b1', 'b2']);
      expect(delivered.find((m) => m.Body === 'a2')!.Attributes).toMatchObject({ MessageGroupId: 'A', MessageDeduplicationId: 'd-a2' });
    } finally {
      sqs.destroy();
      await after.stop();
    }
  });

  it('keep what they acknowledged when the process dies: the journal as it is on disk is replayed', async () => {
    const runningDir = await mkdtemp(join(tmpdir(), 'local-queues-running-'));
    const running = await startLocalQueues({ dataDir: runningDir });
    const sqs = sqsClient(running.endpoint);
    const crashedDir = await mkdtemp(join(tmpdir(), 'local-queues-crashed-'));
    try {
      for (let i = 0; i < 30; i++) {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: running.deliveryQueueUrl, MessageBody: `m${i}`, MessageGroupId: `g${i % 3}`, MessageDeduplicationId: `c-${i}` }),
        );
      }
      // m0 delivered and deleted; m1 held back for a retry in a minute; m2 received by a consumer that then died.
      const { Messages = [] } = await receive(sqs, running.deliveryQueueUrl);
      const byBody = new Map(Messages.map((m) => [m.Body, m.ReceiptHandle]));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: running.deliveryQueueUrl, ReceiptHandle: byBody.get('m0') }));
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: running.deliveryQueueUrl, ReceiptHandle: byBody.get('m1'), VisibilityTimeout: 60 }));
      // What a kill -9 leaves: the journal file, with no clean stop after it.
      await copyFile(join(runningDir, 'queues.journal'), join(crashedDir, 'queues.journal'));
    } finally {
      sqs.destroy();
      await running.stop();
      await rm(runningDir, { recursive: true, force: true });
    }

    const restarted = await startLocalQueues({ dataDir: crashedDir });
    const after = sqsClient(restarted.endpoint);
    try {
      expect(restarted.recovered).toMatchObject({ stoppedCleanly: false });
      expect(restarted.recovered!.messages).toHaveLength(29);
      const delivered: string[] = [];
      for (;;) {
        const { Messages = [] } = await receive(after, restarted.deliveryQueueUrl);
        if (Messages.length === 0) break;
        delivered.push(...Messages.map((m) => m.Body!));
        await deleteAll(after, restarted.deliveryQueueUrl, Messages);
      }
      // Group g1 waits behind m1, still held; the others come in order, m2 (whose consumer died) at once.
      expect(delivered.filter((b) => Number(b.slice(1)) % 3 === 0)).toEqual(Array.from({ length: 9 }, (_, i) => `m${3 * (i + 1)}`));
      expect(delivered.filter((b) => Number(b.slice(1)) % 3 === 2)).toEqual(Array.from({ length: 10 }, (_, i) => `m${3 * i + 2}`));
      expect(delivered.filter((b) => Number(b.slice(1)) % 3 === 1)).toEqual([]);
      // A sender retrying an acknowledged send within the deduplication window is still deduplicated.
      await after.send(
        new SendMessageCommand({ QueueUrl: restarted.deliveryQueueUrl, MessageBody: 'm3', MessageGroupId: 'g0', MessageDeduplicationId: 'c-3' }),
      );
      expect((await receive(after, restarted.deliveryQueueUrl)).Messages).toBeUndefined();
    } finally {
      after.destroy();
      await restarted.stop();
      await rm(crashedDir, { recursive: true, force: true });
    }
  });

  it('start empty when nothing was saved', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'local-queues-empty-'));
    const empty = await startLocalQueues({ dataDir: emptyDir });
    const sqs = sqsClient(empty.endpoint);
    try {
      expect(empty.recovered).toBeUndefined();
      expect((await receive(sqs, empty.deliveryQueueUrl)).Messages).toBeUndefined();
    } finally {
      sqs.destroy();
      await empty.stop();
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});

async function deleteAll(sqs: SQSClient, QueueUrl: string, messages: Message[]): Promise<void> {
  for (const { ReceiptHandle } of messages) await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle }));
}
