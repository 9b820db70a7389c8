/**
 * `npm run bench:batch`: loads 10,000 and then 100,000 pending batch events across 50 webhooks (10
 * accounts × 5) on the local runtime's storage and queues (DynamoDB Local, the in-process SQS),
 * runs one flush each time with the aggregator core and prints events/s flushed, requests sent,
 * DynamoDB calls per event, and the time ratio of the two flushes — near 10 when the cost is
 * linear in the backlog. A benchmark, not a test: figures vary with the machine.
 *
 * Options: `-- --sizes 1000,5000` to try other backlogs.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startDynamoDbLocal } from '../infra/local/dynamodb-local';
import { startLocalQueues } from '../infra/local/queues';
import { ensureTable } from '../infra/local/table';
import { flushDueWebhooks, type AggregatorDependencies } from '../shared/batch/aggregator';
import { dynamoDb } from '../shared/adapters/dynamodb';
import { aggregator, pendingStore, resetContainer, webhookStore } from '../shared/container';
import type { LmsEvent } from '../shared/events/envelope';
import type { DocumentDb } from '../shared/storage/document-db';
import type { Webhook } from '../shared/webhooks/model';

const ACCOUNTS = 10;
const WEBHOOKS_PER_ACCOUNT = 5;
const LOAD_CONCURRENCY = 8;
const LOAD_GROUP = 500;
const TABLE = 'bench-batch';

function sizesFromArgs(): number[] {
  const at = process.argv.indexOf('--sizes');
  if (at < 0) return [10_000, 100_000];
  const sizes = (process.argv[at + 1] ?? '').split(',').map(Number);
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes takes a comma-separated list of positive integers');
  return sizes;
}

function webhookFor(accountId: number, n: number): Webhook {
  const at = new Date().toISOString();
  return {
    id: `wh_${String(accountId).padStart(13, '0')}${String(n).padStart(13, '0')}`,
    accountId,
    name: `bench ${accountId}/${n}`,
    targetUrl: 'http://127.0.0.1:9/hook',
    authType: 'NONE',
    events: ['COURSE_ENROLLMENT_BATCH', 'LEARNER_PROGRESS'],
    status: 'ACTIVE',
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

function eventFor(run: number, n: number): LmsEvent {
  const timestamp = Date.UTC(2026, 0, 1) + n;
  return {
    eventId: `bench-${run}-${n}`,
    eventName: 'LEARNER_PROGRESS',
    timestamp,
    eventInfo: `${timestamp}-${String(n % 1_000_000).padStart(6, '0')}-0-0`,
    data: { userId: 100_000 + n, loId: 'course:7374992', loInstanceId: 'course:7374992_10250977', loType: 'course', dateStarted: 1767225600, progressPercent: n % 101 },
  };
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function queued(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

async function main(): Promise<void> {
  Object.assign(process.env, {
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  const sizes = sizesFromArgs();
  const dynamoDbLocal = await startDynamoDbLocal();
  const queues = await startLocalQueues();
  try {
    const client = new DynamoDBClient({ endpoint: dynamoDbLocal.endpoint });
    await ensureTable(client, TABLE);
    // The container's own parts and clients, pointed at the local services as the runtime does.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamoDbLocal.endpoint,
      AWS_ENDPOINT_URL_SQS: queues.endpoint,
      TABLE_NAME: TABLE,
      DELIVERY_QUEUE_URL: queues.deliveryQueueUrl,
      BATCH_MAX_EVENTS: '100',
    });
    resetContainer();
    // Counted where the stores send (without asking for consumed capacity, which costs DynamoDB Local time).
    let dynamoDbCalls = 0;
    const db = dynamoDb() as { send: DocumentDb['send'] };
    const send = db.send;
    db.send = ((command: Parameters<typeof send>[0]) => (dynamoDbCalls++, send(command))) as DocumentDb['send'];
    const sqs = new SQSClient({ endpoint: queues.endpoint });

    const hooks: Webhook[] = [];
    for (let account = 1; account <= ACCOUNTS; account++) {
      for (let n = 1; n <= WEBHOOKS_PER_ACCOUNT; n++) {
        const webhook = webhookFor(account, n);
        await webhookStore().create(webhook, WEBHOOKS_PER_ACCOUNT);
        hooks.push(webhook);
      }
    }
    const store = pendingStore();
    const deps: AggregatorDependencies = {
      ...aggregator(),
      continueLater: async () => {
        throw new Error('the bench gives the flush all the time it needs; it should never continue');
      },
    };

    console.log(`batch flush bench: ${hooks.length} webhooks in ${ACCOUNTS} accounts, BATCH_MAX_EVENTS 100, 256 KB envelopes`);
    const seconds: number[] = [];
    for (const [run, size] of sizes.entries()) {
      const loadStart = performance.now();
      // Each webhook gets every 50th event, added LOAD_GROUP at a time in timestamp order.
      const loads = hooks.flatMap((webhook, h) => {
        const events = Array.from({ length: Math.ceil((size - h) / hooks.length) }, (_, k) => eventFor(run, h + k * hooks.length));
        return Array.from({ length: Math.ceil(events.length / LOAD_GROUP) }, (_, g) => ({ webhook, events: events.slice(g * LOAD_GROUP, (g + 1) * LOAD_GROUP) }));
      });
      await inParallel(loads, LOAD_CONCURRENCY, ({ webhook, events }) => store.addMany(webhook, events));
      const loadSeconds = (performance.now() - loadStart) / 1000;

      dynamoDbCalls = 0;
      const flushStart = performance.now();
      const report = await flushDueWebhooks(deps, { runId: randomUUID(), firedAt: Date.now(), generation: 0, remainingMs: 3_600_000 });
      const flushSeconds = (performance.now() - flushStart) / 1000;
      seconds.push(flushSeconds);

      // Requests go into each webhook's backlog; the queue holds one doorbell per webhook, whatever the backlog.
      const doorbells = await queued(sqs, queues.deliveryQueueUrl);
      const left = (await store.dueWebhooks()).length;
      console.log(
        [
          `${size.toLocaleString('en')} events:`,
          `loaded in ${loadSeconds.toFixed(1)} s (${Math.round(size / loadSeconds)} events/s);`,
          `flushed ${report.flushedEvents.toLocaleString('en')} in ${flushSeconds.toFixed(2)} s = ${Math.round(report.flushedEvents / flushSeconds)} events/s;`,
          `requests written ${report.requests} (doorbells on the delivery queue: ${doorbells});`,
          `DynamoDB calls ${dynamoDbCalls} = ${(dynamoDbCalls / size).toFixed(3)} per event;`,
          `failed webhooks ${report.failedWebhooks}, webhooks still due ${left}`,
        ].join(' '),
      );
      if (report.flushedEvents !== size || doorbells !== hooks.length || left !== 0) throw new Error('the flush did not write the whole backlog exactly once, with one doorbell per webhook');
    }
    if (seconds.length >= 2) {
      const ratio = seconds[seconds.length - 1]! / seconds[0]!;
      const sizeRatio = sizes[sizes.length - 1]! / sizes[0]!;
      console.log(`time ratio ${sizes[sizes.length - 1]!.toLocaleString('en')}/${sizes[0]!.toLocaleString('en')}: ${ratio.toFixed(2)} (backlog ratio ${sizeRatio})`);
    }
    client.destroy();
    sqs.destroy();
  } finally {
    await queues.stop();
    await dynamoDbLocal.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
