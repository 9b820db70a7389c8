import './host-env';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { SQSClient } from '@aws-sdk/client-sqs';
import { handler as aggregatorHandler } from '../../functions/aggregator/handler';
import { handler as apiHandler } from '../../functions/api/handler';
import { handler as deliveryHandler } from '../../functions/delivery/handler';
import { handler as routerHandler } from '../../functions/router/handler';
import { handler as sweeperHandler } from '../../functions/sweeper/handler';
import { useDataKeys } from '../../shared/adapters/credentials-cipher';
import { useEventBridgeTransport } from '../../shared/adapters/eventbridge';
import { backlogState, pendingStore, resetContainer } from '../../shared/container';
import { sweepDoorbells } from '../../shared/deliveries/sweeper';
import { ConfigError, DEFAULTS, describeIssues, SHARED_RULES } from '../../shared/config';
import { AGGREGATOR_FUNCTION, DELIVERY_FUNCTION, DELIVERY_QUEUE, ROUTER_FUNCTION, SWEEPER, SWEEPER_FUNCTION } from '../../shared/wiring';
import { buildConsole } from '../../console/build';
import { LocalTokens } from './auth';
import { LocalDataKeys } from './data-keys';
import { LocalApiServer } from './api-server';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { asyncInvoker } from './async-invoker';
import { lockDataDir } from './data-dir-lock';
import { LocalEventBus } from './event-bus';
import type { Recovered } from './queue-journal';
import { startLocalQueues } from './queues';
import { startScheduler } from './scheduler';
import { eventLoopGauge, startPoller } from './sqs-poller';
import { ensureTable } from './table';
import { BATCH_CONTINUATION_EVENT_PATTERN, INGEST_EVENT_PATTERN } from '../../shared/events/sources';

/**
 * The whole service on one machine: DynamoDB Local, the admin API, the PutEvents endpoint, the
 * queues with their consumers and the batch schedule — hosting the same handlers as the Lambdas.
 */
export const LocalEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  EVENTS_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('.data'),
  EVENT_BUS_NAME: SHARED_RULES.eventBusName,
  BATCH_SCHEDULE: SHARED_RULES.batchSchedule({ allowSeconds: true }),
  /** When the sweeper looks for overdue doorbells; locally also `rate(N seconds)`. */
  SWEEP_SCHEDULE: z.string().min(1).default(SWEEPER.schedule),
  ALLOW_PRIVATE_TARGETS: SHARED_RULES.flag.default(true),
  TABLE_NAME: z.string().min(1).default('lms-webhooks'),
  ACCOUNT_CLAIM: SHARED_RULES.accountClaim,
  /** Whether tokens need each route's scope (the CDK context key `requireScopes` in AWS). */
  REQUIRE_SCOPES: SHARED_RULES.flag.default(DEFAULTS.requireScopes),
  /** Consumers of the delivery queue at once (Lambda: one per active message group, up to the cap). */
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  /**
   * Router invocations at once. One keeps each account's events in the order they were put; more
   * route faster but may swap events put within the same moment (listeners order by timestamp).
   */
  ROUTER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(1),
  /**
   * Ingest messages per router invocation: what is waiting, up to this many (Lambda's limit for a
   * standard queue is 10,000). A burst is routed in large batches, a lone event at once.
   */
  ROUTER_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export type LocalEnv = z.infer<typeof LocalEnvSchema>;

/**
 * Beyond this event-loop utilization the local pollers start invocations beside a running one at
 * most one a second: when routing and drains already fill the core, fewer drains at once each send
 * a fuller page.
 */
const SATURATED_EVENT_LOOP = 0.9;

export function parseLocalEnv(env: Record<string, string | undefined>): LocalEnv {
  const result = LocalEnvSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(`Invalid configuration: ${describeIssues(result.error)}`);
  }
  return result.data;
}

export interface RuntimeOptions {
  readonly env: LocalEnv;
  /** Use this DynamoDB endpoint instead of starting DynamoDB Local under DATA_DIR (tests). */
  readonly dynamoDbEndpoint?: string;
  /**
   * Journal the queues under DATA_DIR, so that what they acknowledged survives kill -9. Off, queued
   * messages live in memory only: for measuring what the journal costs (`npm run bench -- --journal off`).
   * @default true
   */
  readonly queueJournal?: boolean;
}

export interface LocalRuntime {
  readonly apiUrl: string;
  readonly eventsUrl: string;
  readonly tokens: LocalTokens;
  /** What the queues' journal gave back at start (undefined on a first start). */
  readonly recoveredQueues?: Recovered;
  stop(): Promise<void>;
}

export async function startLocalRuntime({ env, dynamoDbEndpoint, queueJournal = true }: RuntimeOptions): Promise<LocalRuntime> {
  const dataDir = resolve(env.DATA_DIR);
  await mkdir(dataDir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  // Before anything else touches DATA_DIR; released last.
  const lock = await lockDataDir(dataDir);
  stops.push(() => lock.release());
  try {
    let endpoint = dynamoDbEndpoint;
    if (!endpoint) {
      const dbPath = join(dataDir, 'dynamodb');
      await mkdir(dbPath, { recursive: true });
      const db: DynamoDbLocal = await startDynamoDbLocal({ dbPath, pidFile: join(dataDir, 'dynamodb-local.pid') });
      stops.push(() => db.stop());
      endpoint = db.endpoint;
    }
    // The handlers read their settings from the environment, exactly as in Lambda.
    Object.assign(process.env, {
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      TABLE_NAME: env.TABLE_NAME,
      EVENT_BUS_NAME: env.EVENT_BUS_NAME,
      BATCH_SCHEDULE: env.BATCH_SCHEDULE,
      ALLOW_PRIVATE_TARGETS: String(env.ALLOW_PRIVATE_TARGETS),
      ACCOUNT_CLAIM: env.ACCOUNT_CLAIM,
    });
    resetContainer();
    // Webhook secrets are sealed under a key in DATA_DIR where AWS uses KMS.
    useDataKeys(await LocalDataKeys.open(dataDir));

    const dynamo = new DynamoDBClient({ endpoint });
    await ensureTable(dynamo, env.TABLE_NAME);
    // This runtime holds DATA_DIR alone, so a flush lease found now is a dead run's (kill -9 mid-flush).
    await pendingStore().releaseAllLeases();
    dynamo.destroy();

    const region = process.env.AWS_REGION!;
    const queues = await startLocalQueues({ dataDir: queueJournal ? dataDir : undefined, host: '127.0.0.1', region });
    stops.push(() => queues.stop());
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SQS: queues.endpoint,
      DELIVERY_QUEUE_URL: queues.deliveryQueueUrl,
      DELIVERY_DLQ_URL: queues.deliveryDlqUrl,
    });
    resetContainer();
    // The pollers' and the bus's: stack resolved once per command type, as the handlers' client (shared/adapters/sqs.ts).
    const sqsClient = new SQSClient({ endpoint: queues.endpoint, cacheMiddleware: true });

    // A flush that runs out of time continues through its own event on the bus, as in AWS.
    const aggregator = asyncInvoker({ functionName: 'aggregator', timeoutSeconds: AGGREGATOR_FUNCTION.timeoutSeconds, handler: aggregatorHandler });
    const bus = new LocalEventBus({
      host: env.HOST,
      port: env.EVENTS_PORT,
      busName: env.EVENT_BUS_NAME,
      rules: [
        { pattern: INGEST_EVENT_PATTERN, queueUrl: queues.ingestQueueUrl },
        { pattern: BATCH_CONTINUATION_EVENT_PATTERN, invoke: aggregator.invoke },
      ],
      sqsClient,
      region,
    });
    const eventsUrl = await bus.start();
    stops.push(() => bus.stop());
    stops.push(() => aggregator.stop());
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventsUrl;
    // The service's notices and continuations: its Sources are refused over the endpoint.
    useEventBridgeTransport(bus.serviceTransport);

    // Stopped before the queues (pushed later, so stopped earlier): in-flight invocations finish first.
    const coreGauge = eventLoopGauge(SATURATED_EVENT_LOOP);
    const pollers = [
      startPoller({
        sqsClient,
        queueUrl: queues.ingestQueueUrl,
        queueArn: queues.ingestQueueArn,
        region,
        batchSize: env.ROUTER_BATCH_SIZE,
        concurrency: env.ROUTER_CONCURRENCY,
        saturated: coreGauge.saturated,
        handler: routerHandler,
        functionName: 'router',
        functionTimeoutMs: ROUTER_FUNCTION.timeoutSeconds * 1000,
      }),
      startPoller({
        sqsClient,
        queueUrl: queues.deliveryQueueUrl,
        queueArn: queues.deliveryQueueArn,
        region,
        batchSize: DELIVERY_QUEUE.batchSize,
        concurrency: env.DELIVERY_CONCURRENCY,
        saturated: coreGauge.saturated,
        handler: deliveryHandler,
        functionName: 'delivery',
        functionTimeoutMs: DELIVERY_FUNCTION.timeoutSeconds * 1000,
      }),
    ];
    stops.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
      sqsClient.destroy();
    });

    // Stopped before the queues: a flush or sweep in progress finishes enqueueing what it started.
    const schedules = [
      { ruleName: 'batch-schedule', expression: env.BATCH_SCHEDULE, handler: aggregatorHandler, functionName: 'aggregator', sizing: AGGREGATOR_FUNCTION },
      { ruleName: 'sweep-schedule', expression: env.SWEEP_SCHEDULE, handler: sweeperHandler, functionName: 'sweeper', sizing: SWEEPER_FUNCTION },
    ];
    for (const { sizing, ...schedule } of schedules) {
      const scheduler = startScheduler({ ...schedule, functionTimeoutMs: sizing.timeoutSeconds * 1000, region });
      stops.push(() => scheduler.stop());
    }
    // Nothing of an earlier run is in flight now: doorbells due by now are rung again at once, so
    // one lost with a killed process does not wait for the sweeper's overdue time.
    await sweepDoorbells(backlogState(), { overdueAfterSeconds: 0 });

    // Built on every start, so the page always matches the checkout; the api handler serves it as in AWS.
    process.env.CONSOLE_ASSETS_DIR = await buildConsole(join(dataDir, 'console'));
    resetContainer();

    const tokens = await LocalTokens.open(dataDir, env.ACCOUNT_CLAIM);
    const api = new LocalApiServer({ host: env.HOST, port: env.PORT, handler: apiHandler, tokens, requireScopes: env.REQUIRE_SCOPES });
    const apiUrl = await api.start();
    stops.push(() => api.stop());

    return { apiUrl, eventsUrl, tokens, recoveredQueues: queues.recovered, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
