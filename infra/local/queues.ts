import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DELIVERY_QUEUE, INGEST_QUEUE } from '../../shared/wiring';
import { type JournaledMessage, QueueJournal, type Recovered } from './queue-journal';

/**
 * The service's queues on fauxqs, an in-process SQS emulator, with the attributes the CDK stack
 * gives them. fauxqs keeps messages in memory only; with a dataDir every change to a queue —
 * a message sent or moved, deleted, hidden by ChangeMessageVisibility, a purge — goes to a
 * journal under it, and a response that acknowledges a change is sent only once the change is on
 * disk. So whatever a queue acknowledged survives kill -9: the next start replays the journal,
 * FIFO order per group and hidden messages' remaining time kept. Receives are not journaled: the
 * consumers of a stopped runtime are gone, so what they held is visible again at once.
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
  /** What the journal held at start; undefined without a dataDir or on a first start. */
  readonly recovered?: Recovered;
  /** Stops, compacting the journal (when a dataDir was given). Stop the pollers and the bus first. */
  stop(): Promise<void>;
}

export interface LocalQueuesOptions {
  /** Where the queues' journal is kept; without it messages live in memory only. */
  readonly dataDir?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
}

const JOURNAL_FILE = 'queues.journal';

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
  const sqsStore = await newSqsStore();
  let journal: QueueJournal | undefined;
  // Not startFauxqs: it listens on every interface and hands out queue URLs on
  // sqs.<region>.localhost, which SDK clients follow (they take a queue URL's origin as the
  // endpoint unless one is set in code) and which need not resolve. Here the server stays on
  // loopback and queue URLs share the endpoint's origin.
  const app = buildApp({ logger: false, defaultRegion: region, stores: { sqsStore } as unknown as FauxqsStores });
  let origins = { public: '', internal: '' };
  app.addHook('preHandler', async (request) => {
    const body = request.body as { QueueUrl?: unknown } | undefined;
    if (typeof body?.QueueUrl === 'string') body.QueueUrl = body.QueueUrl.replace(origins.public, origins.internal);
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    // The answer to a send, delete, visibility change or purge acknowledges it: only once on disk.
    if (journal && request.headers['x-amz-target'] !== 'AmazonSQS.ReceiveMessage') await journal.sync();
    return typeof payload === 'string' ? payload.replaceAll(origins.internal, origins.public) : payload;
  });
  const endpoint = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const { port } = new URL(endpoint);
  origins = { public: `${endpoint}/`, internal: `http://sqs.${region}.localhost:${port}/` };

  const client = new SQSClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const queues = await createQueues(client);
    let recovered: Recovered | undefined;
    if (options.dataDir) {
      const file = join(options.dataDir, JOURNAL_FILE);
      ({ journal, recovered } = await QueueJournal.open(file));
      if (recovered) restore(sqsStore, recovered, file);
      for (const { name } of Object.values(QUEUES)) journalChanges(sqsStore.getQueueByName(name)!, journal);
    }
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
      recovered,
      async stop() {
        if (stopped) return;
        stopped = true;
        client.destroy();
        await app.close();
        await journal?.close();
      },
    };
  } catch (error) {
    client.destroy();
    await app.close();
    await journal?.close();
    throw error;
  }
}

/** One line for the start-up output: what the journal gave back, and from when. */
export function describeRecovery({ messages, writtenAt, stoppedCleanly }: Recovered): string {
  const perQueue = new Map<string, number>();
  for (const { queue } of messages) perQueue.set(queue, (perQueue.get(queue) ?? 0) + 1);
  const detail = [...perQueue].map(([queue, count]) => `${queue}: ${count}`).join(', ');
  return (
    `restored ${messages.length} queued message${messages.length === 1 ? '' : 's'} from ${writtenAt.toISOString()}` +
    `${detail ? ` (${detail})` : ''}${stoppedCleanly ? '' : '; the previous run did not stop cleanly'}`
  );
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


/** The parts of fauxqs 1.9.2's in-memory queue (dist/sqs/sqsStore.js) that the journal hooks into. */
interface FauxqsMessage extends JournaledMessage {
  readonly sentTimestamp: number;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  readonly sequenceNumber?: string;
}

interface FauxqsQueue {
  readonly name: string;
  readonly inflightMessages: Map<string, { message: FauxqsMessage; receiptHandle: string; visibilityDeadline: number }>;
  readonly fifoLockedGroups: Map<string, number>;
  sequenceCounter: number;
  isFifo(): boolean;
  enqueue(message: FauxqsMessage): void;
  deleteMessage(receiptHandle: string): boolean;
  changeVisibility(receiptHandle: string, timeoutSeconds: number): void;
  purge(): void;
  recordDeduplication(deduplicationId: string, messageId: string, sequenceNumber?: string): void;
}

interface FauxqsSqsStore {
  getQueueByName(name: string): FauxqsQueue | undefined;
}

type FauxqsStores = NonNullable<NonNullable<Parameters<typeof import('fauxqs', { with: { 'resolution-mode': 'import' } }).buildApp>[0]>['stores']>;

/**
 * fauxqs's store, created here and handed to buildApp so the journal can see every change.
 * The package exports only its entry point, so the store's module is loaded by its path.
 */
async function newSqsStore(): Promise<FauxqsSqsStore> {
  const packageDir = require.resolve
    .paths('fauxqs')
    ?.map((dir) => join(dir, 'fauxqs'))
    .find((dir) => existsSync(join(dir, 'package.json')));
  if (!packageDir) throw new Error('fauxqs is not installed; run npm ci');
  const { SqsStore } = (await import(join(packageDir, 'dist', 'sqs', 'sqsStore.js'))) as { SqsStore: new () => FauxqsSqsStore };
  return new SqsStore();
}

/** SQS's FIFO deduplication window. */
const DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;

/** Puts the journal's live messages back into their queues, hidden ones held (and their FIFO group locked) until their time. */
function restore(store: FauxqsSqsStore, recovered: Recovered, file: string): void {
  const unknown = [...new Set(recovered.messages.map((m) => m.queue))].filter((name) => !store.getQueueByName(name));
  if (unknown.length > 0) {
    throw new Error(`${file} holds messages for queues this runtime no longer defines (${unknown.join(', ')}); move it away to start with empty queues.`);
  }
  const now = Date.now();
  for (const entry of recovered.messages) {
    const queue = store.getQueueByName(entry.queue)!;
    const message = entry.message as FauxqsMessage;
    if (entry.hiddenUntil !== undefined && entry.hiddenUntil > now) {
      const receiptHandle = randomUUID();
      queue.inflightMessages.set(receiptHandle, { message, receiptHandle, visibilityDeadline: entry.hiddenUntil });
      if (queue.isFifo() && message.messageGroupId !== undefined) {
        queue.fifoLockedGroups.set(message.messageGroupId, (queue.fifoLockedGroups.get(message.messageGroupId) ?? 0) + 1);
      }
    } else {
      queue.enqueue(message);
    }
    if (!queue.isFifo()) continue;
    // A sender that retries a send it saw fail keeps being deduplicated across the restart.
    if (message.messageDeduplicationId !== undefined && message.sentTimestamp > now - DEDUPLICATION_WINDOW_MS) {
      queue.recordDeduplication(message.messageDeduplicationId, message.messageId, message.sequenceNumber);
    }
    queue.sequenceCounter = Math.max(queue.sequenceCounter, Number(message.sequenceNumber ?? 0));
  }
}

/** Wraps the queue's mutating methods so each change is journaled as it happens. */
function journalChanges(queue: FauxqsQueue, journal: QueueJournal): void {
  const { enqueue, deleteMessage, changeVisibility, purge } = queue;
  const idOf = (receiptHandle: string) => queue.inflightMessages.get(receiptHandle)?.message.messageId;
  queue.enqueue = (message) => {
    journal.append({ op: 'send', queue: queue.name, message });
    enqueue.call(queue, message);
  };
  queue.deleteMessage = (receiptHandle) => {
    const id = idOf(receiptHandle);
    const deleted = deleteMessage.call(queue, receiptHandle);
    if (deleted && id) journal.append({ op: 'delete', id });
    return deleted;
  };
  queue.changeVisibility = (receiptHandle, timeoutSeconds) => {
    const id = idOf(receiptHandle);
    changeVisibility.call(queue, receiptHandle, timeoutSeconds);
    if (id) journal.append({ op: 'hide', id, until: Date.now() + timeoutSeconds * 1000 });
  };
  queue.purge = () => {
    purge.call(queue);
    journal.append({ op: 'purge', queue: queue.name });
  };
}
