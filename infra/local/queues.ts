import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DELIVERY_QUEUE, INGEST_QUEUE } from '../../shared/wiring';

/**
 * The service's queues on fauxqs, an in-process SQS emulator, with the attributes the CDK stack
 * gives them. fauxqs keeps messages in memory only, so a clean stop saves every queued message
 * (in-flight ones included, with the time they become visible again) to DATA_DIR and the next
 * start puts them back, FIFO order per message group preserved.
 */
export interface LocalQueues {
  /** The SQS endpoint, for AWS_ENDPOINT_URL_SQS. Queue URLs share its origin. */
  readonly endpoint: string;
  readonly ingestQueueUrl: string;
  readonly ingestQueueArn: string;
  readonly ingestDlqUrl: string;
  readonly ingestDlqArn: string;
  readonly deliveryQueueUrl: string;
  readonly deliveryQueueArn: string;
  readonly deliveryDlqUrl: string;
  readonly deliveryDlqArn: string;
  /** Saves what is still queued (when a dataDir was given) and stops. Stop the pollers and the bus first. */
  stop(): Promise<void>;
}

export interface LocalQueuesOptions {
  /** Where queued messages are kept across a clean restart; without it they live in memory only. */
  readonly dataDir?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
}

const SAVED_FILE = 'queues.json';

const QUEUES = {
  ingestDlq: { name: 'lms-webhooks-ingest-dlq', attributes: { MessageRetentionPeriod: String(INGEST_QUEUE.dlqRetentionSeconds) } },
  ingest: {
    name: 'lms-webhooks-ingest',
    attributes: {
      VisibilityTimeout: String(INGEST_QUEUE.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(INGEST_QUEUE.retentionSeconds),
    },
  },
  deliveryDlq: {
    name: 'lms-webhooks-delivery-dlq.fifo',
    attributes: {
      FifoQueue: 'true',
      // As in the stack: the handler moves a message here under its own deduplication id.
      ContentBasedDeduplication: 'false',
      MessageRetentionPeriod: String(DELIVERY_QUEUE.dlqRetentionSeconds),
    },
  },
  // No redrive policy on purpose: the delivery handler dead-letters itself (see shared/wiring.ts).
  delivery: {
    name: 'lms-webhooks-delivery.fifo',
    attributes: {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      VisibilityTimeout: String(DELIVERY_QUEUE.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(DELIVERY_QUEUE.retentionSeconds),
    },
  },
} as const;

type QueueKey = keyof typeof QUEUES;

export async function startLocalQueues(options: LocalQueuesOptions = {}): Promise<LocalQueues> {
  const region = options.region ?? 'us-east-1';
  const { buildApp } = await import('fauxqs');
  // Not startFauxqs: it listens on every interface and hands out queue URLs on
  // sqs.<region>.localhost, which SDK clients follow (they take a queue URL's origin as the
  // endpoint unless one is set in code) and which need not resolve. Here the server stays on
  // loopback and queue URLs share the endpoint's origin.
  const app = buildApp({ logger: false, defaultRegion: region });
  let origins = { public: '', internal: '' };
  app.addHook('preHandler', async (request) => {
    const body = request.body as { QueueUrl?: unknown } | undefined;
    if (typeof body?.QueueUrl === 'string') body.QueueUrl = body.QueueUrl.replace(origins.public, origins.internal);
  });
  app.addHook('onSend', async (_request, _reply, payload) =>
    typeof payload === 'string' ? payload.replaceAll(origins.internal, origins.public) : payload,
  );
  const endpoint = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const { port } = new URL(endpoint);
  origins = { public: `${endpoint}/`, internal: `http://sqs.${region}.localhost:${port}/` };

  const client = new SQSClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const queues = await createQueues(client);
    const savedFile = options.dataDir && join(options.dataDir, SAVED_FILE);
    if (savedFile) await restoreMessages(client, queues, savedFile);
    let stopped = false;
    return {
      endpoint,
      ingestQueueUrl: queues.ingest.url,
      ingestQueueArn: queues.ingest.arn,
      ingestDlqUrl: queues.ingestDlq.url,
      ingestDlqArn: queues.ingestDlq.arn,
      deliveryQueueUrl: queues.delivery.url,
      deliveryQueueArn: queues.delivery.arn,
      deliveryDlqUrl: queues.deliveryDlq.url,
      deliveryDlqArn: queues.deliveryDlq.arn,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          if (savedFile) await saveMessages(savedFile, await snapshot(endpoint));
        } finally {
          client.destroy();
          await app.close();
        }
      },
    };
  } catch (error) {
    client.destroy();
    await app.close();
    throw error;
  }
}

type CreatedQueues = Record<QueueKey, { url: string; arn: string }>;

async function createQueues(client: SQSClient): Promise<CreatedQueues> {
  const created = {} as CreatedQueues;
  // Dead-letter queues first: the ingest queue's redrive policy names its DLQ's ARN.
  for (const key of ['ingestDlq', 'deliveryDlq', 'delivery', 'ingest'] as const) {
    const { name, attributes } = QUEUES[key];
    const redrive =
      key === 'ingest'
        ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: created.ingestDlq.arn, maxReceiveCount: INGEST_QUEUE.maxReceiveCount }) }
        : {};
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { ...attributes, ...redrive } }));
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    created[key] = { url: QueueUrl!, arn: Attributes!.QueueArn! };
  }
  return created;
}

/** A queued message as saved across restarts. */
interface SavedMessage {
  readonly body: string;
  readonly messageAttributes: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  /** Epoch ms when an in-flight or delayed message becomes visible again. */
  readonly visibleAt?: number;
}

type SavedQueues = Record<string, SavedMessage[]>;

type FauxqsMessage = Omit<SavedMessage, 'visibleAt'> & { delayUntil?: number };

interface Inspection {
  messages: {
    ready: FauxqsMessage[];
    delayed: FauxqsMessage[];
    inflight: Array<{ message: FauxqsMessage; visibilityDeadline: number }>;
  };
}

/**
 * Every message of every queue without receiving it. In-flight messages come first: in a FIFO
 * queue a group's in-flight message is its head, and a group has at most one.
 */
async function snapshot(endpoint: string): Promise<SavedQueues> {
  const saved: SavedQueues = {};
  for (const { name } of Object.values(QUEUES)) {
    const response = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(name)}`);
    if (!response.ok) throw new Error(`Cannot inspect queue ${name}: HTTP ${response.status}`);
    const { messages } = (await response.json()) as Inspection;
    const keep = (m: FauxqsMessage, visibleAt?: number): SavedMessage => ({
      body: m.body,
      messageAttributes: m.messageAttributes,
      messageGroupId: m.messageGroupId,
      messageDeduplicationId: m.messageDeduplicationId,
      visibleAt,
    });
    saved[name] = [
      ...messages.inflight.map((entry) => keep(entry.message, entry.visibilityDeadline)),
      ...messages.ready.map((m) => keep(m)),
      ...messages.delayed.map((m) => keep(m, m.delayUntil)),
    ];
  }
  return saved;
}

async function saveMessages(file: string, saved: SavedQueues): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  // Write then rename, so a crash mid-write never leaves a truncated file behind.
  await writeFile(`${file}.tmp`, JSON.stringify(saved));
  await rename(`${file}.tmp`, file);
}

const MAX_VISIBILITY_SECONDS = 12 * 3600;

/**
 * Sends the saved messages again, in their saved order. Messages that were hidden (in flight or
 * delayed) go first and are received and hidden again for their remaining time, so a retry
 * back-off survives the restart. Only then does the rest follow, behind them in each FIFO group.
 * Receive counts and sent timestamps start afresh: SQS offers no way to set them.
 */
async function restoreMessages(client: SQSClient, queues: CreatedQueues, file: string): Promise<void> {
  let saved: SavedQueues;
  try {
    saved = JSON.parse(await readFile(file, 'utf8')) as SavedQueues;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`Cannot read the saved queue messages in ${file}: ${(error as Error).message}`);
  }
  const urlByName = new Map<string, string>(Object.entries(QUEUES).map(([key, { name }]) => [name, queues[key as QueueKey].url]));
  const unknown = Object.keys(saved).filter((name) => saved[name].length > 0 && !urlByName.has(name));
  if (unknown.length > 0) throw new Error(`${file} holds messages for unknown queues: ${unknown.join(', ')}`);

  for (const [name, messages] of Object.entries(saved)) {
    const queueUrl = urlByName.get(name)!;
    const send = sender(client, queueUrl);
    const now = Date.now();
    const hidden = messages.filter((m) => (m.visibleAt ?? 0) > now + 1000);
    const hiddenUntil = new Map<string, number>();
    for (const message of hidden) hiddenUntil.set(await send(message), message.visibleAt!);
    while (hiddenUntil.size > 0) {
      const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      if (Messages.length === 0) throw new Error(`Could not hide ${hiddenUntil.size} restored messages again in ${name}`);
      for (const { MessageId, ReceiptHandle } of Messages) {
        const seconds = Math.ceil((hiddenUntil.get(MessageId!)! - Date.now()) / 1000);
        const VisibilityTimeout = Math.min(Math.max(seconds, 0), MAX_VISIBILITY_SECONDS);
        await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle, VisibilityTimeout }));
        hiddenUntil.delete(MessageId!);
      }
    }
    for (const message of messages.filter((m) => !hidden.includes(m))) await send(message);
  }
  await rm(file);
}

/** Sends saved messages to one queue; returns each one's new message id. */
function sender(client: SQSClient, queueUrl: string): (message: SavedMessage) => Promise<string> {
  const sentIds = new Set<string>();
  return async function send(message, deduplicationId = message.messageDeduplicationId) {
    const { MessageId } = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: message.body,
        MessageAttributes: sdkAttributes(message.messageAttributes),
        MessageGroupId: message.messageGroupId,
        MessageDeduplicationId: deduplicationId,
      }),
    );
    // Two saved messages can share a deduplication id (sent more than the 5-minute window
    // apart); the second must not be swallowed as a duplicate of the first.
    if (sentIds.has(MessageId!)) return send(message, randomUUID());
    sentIds.add(MessageId!);
    return MessageId!;
  };
}

function sdkAttributes(saved: SavedMessage['messageAttributes']): Record<string, MessageAttributeValue> | undefined {
  const entries = Object.entries(saved);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([name, { DataType, StringValue, BinaryValue }]) => [
      name,
      { DataType, StringValue, BinaryValue: BinaryValue === undefined ? undefined : Buffer.from(BinaryValue, 'base64') },
    ]),
  );
}
