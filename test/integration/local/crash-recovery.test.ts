import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLineOf } from '../../../infra/local/processes';
import { eventually } from '../support/eventually';
import { startListener, type Reply, type TestListener } from '../support/listener';
import { producer } from '../support/producer';
import { recordedPid, startRuntimeProcess, type RuntimeProcess } from '../support/runtime-process';

/**
 * kill -9 of a real `npm start` while 2,000 events for two webhooks are on their way, then a
 * restart on the same DATA_DIR: every event PutEvents acknowledged reaches both webhooks (a
 * listener may see one twice), the delivery log holds each event once per webhook, and no
 * DynamoDB Local outlives its runtime.
 */
jest.setTimeout(600_000);

const ACCOUNT = 1010;
const EVENTS = 2000;

interface Scenario {
  readonly eventName: string;
  readonly env: Record<string, string>;
  /** How the listener answers before the crash (after it, always 202). */
  readonly before?: (request: { headers: Record<string, unknown> }, index: number) => Reply;
  /** When to kill the runtime, given the listener and the events acknowledged so far. */
  readonly killWhen: (listener: TestListener, acknowledged: number) => boolean;
  /** Whether each event must be in one delivery log entry per webhook (see the batch case). */
  readonly eventLoggedOnce: boolean;
}

let listener: TestListener;
let dataDir: string;
const started: RuntimeProcess[] = [];

beforeEach(async () => {
  listener = await startListener();
  dataDir = await mkdtemp(join(tmpdir(), 'crash-recovery-'));
});

afterEach(async () => {
  for (const runtime of started.splice(0)) {
    if (runtime.child.exitCode === null && runtime.child.signalCode === null) runtime.child.kill('SIGTERM');
    await runtime.exited;
  }
  await listener.close();
  await rm(dataDir, { recursive: true, force: true });
});

function start(env: Record<string, string>): RuntimeProcess {
  const runtime = startRuntimeProcess(dataDir, env);
  started.push(runtime);
  return runtime;
}

const data = (n: number) => ({ userId: 5000 + n, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course', hasPassed: true, enrollmentSource: 'ADMIN_ENROLL' });

async function createWebhook(apiUrl: string, token: string, name: string, eventName: string): Promise<string> {
  const response = await fetch(`${apiUrl}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, targetUrl: `${listener.url}/${name}`, auth: { type: 'NONE' }, events: [eventName] }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/** Puts the events ten at a time until done or the runtime is gone; returns the acknowledged ids. */
async function produce(eventsUrl: string, eventName: string, acknowledged: Set<string>): Promise<void> {
  const lms = producer(eventsUrl);
  try {
    for (let n = 0; n < EVENTS; n += 10) {
      const entries = Array.from({ length: 10 }, (_, i) => lms.entry(eventName, { accountId: ACCOUNT, eventId: `e-${n + i}`, data: data(n + i) }));
      const result = await lms.put(entries).catch(() => undefined);
      if (!result) return;
      result.Entries!.forEach((entry, i) => entry.EventId && acknowledged.add(`e-${n + i}`));
    }
  } finally {
    lms.close();
  }
}

/** The event ids each listener path received. */
function receivedByPath(): Map<string, Set<string>> {
  const byPath = new Map<string, Set<string>>();
  for (const { path, body } of listener.received) {
    const ids = byPath.get(path) ?? new Set<string>();
    for (const event of (JSON.parse(body) as { events: { eventId: string }[] }).events) ids.add(event.eventId);
    byPath.set(path, ids);
  }
  return byPath;
}

async function deliveryLog(apiUrl: string, token: string, webhookId: string): Promise<{ status: string; eventIds: string[] }[]> {
  const entries: { status: string; eventIds: string[] }[] = [];
  let nextToken: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '100', ...(nextToken && { nextToken }) });
    const response = await fetch(`${apiUrl}/webhooks/${webhookId}/deliveries?${query}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const page = (await response.json()) as { items: { status: string; eventIds: string[] }[]; nextToken?: string };
    entries.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return entries;
}

/** Every acknowledged event reaches both webhooks, and the delivery log shows it delivered. */
async function everyEventDelivered(
  acknowledged: ReadonlySet<string>,
  webhooks: readonly string[],
  runtime: { apiUrl: string; token: string },
  eventLoggedOnce: boolean,
): Promise<void> {
  await eventually(
    async () => {
      const byPath = receivedByPath();
      return ['/hook/first', '/hook/second'].map((path) => [...acknowledged].filter((id) => !byPath.get(path)?.has(id)).length);
    },
    (missing) => missing.every((count) => count === 0),
    240_000,
  );
  for (const webhookId of webhooks) {
    const log = await eventually(
      () => deliveryLog(runtime.apiUrl, runtime.token, webhookId),
      (entries) => entries.every((entry) => entry.status === 'SUCCEEDED'),
      60_000,
    );
    const logged = log.flatMap((entry) => entry.eventIds);
    const loggedIds = new Set(logged);
    expect([...acknowledged].filter((id) => !loggedIds.has(id))).toEqual([]);
    if (eventLoggedOnce) expect(logged.length).toBe(loggedIds.size);
  }
}

async function crashAndRecover(scenario: Scenario): Promise<void> {
  const first = start(scenario.env);
  const { apiUrl, eventsUrl, token } = await first.ready;
  const webhooks = [await createWebhook(apiUrl, token, 'first', scenario.eventName), await createWebhook(apiUrl, token, 'second', scenario.eventName)];
  listener.respond((request, index) => scenario.before?.(request, index) ?? { status: 202 });
  const runtimePid = await recordedPid(dataDir, 'runtime.lock');
  const firstJvm = await recordedPid(dataDir, 'dynamodb-local.pid');

  const acknowledged = new Set<string>();
  const producing = produce(eventsUrl, scenario.eventName, acknowledged);
  await eventually(
    async () => ({ acknowledged: acknowledged.size, received: listener.received.length }),
    () => scenario.killWhen(listener, acknowledged.size),
    120_000,
  );
  process.kill(runtimePid, 'SIGKILL');
  await producing;
  expect(await first.exited).not.toBe(0);
  expect(acknowledged.size).toBeGreaterThan(0);
  listener.respond(() => ({ status: 202 }));

  const second = start(scenario.env);
  const restarted = await second.ready;
  expect(second.output()).toMatch(/^restored \d+ queued messages? from \S+.*; the previous run did not stop cleanly$/m);
  expect(second.output()).toContain(`Stopping the DynamoDB Local (pid ${firstJvm}) that a previous run left behind`);
  expect(await commandLineOf(firstJvm)).toBeUndefined();

  try {
    await everyEventDelivered(acknowledged, webhooks, restarted, scenario.eventLoggedOnce);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- the restarted runtime's output:\n${second.output().slice(-4000)}`);
  }

  const secondJvm = await recordedPid(dataDir, 'dynamodb-local.pid');
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect(await commandLineOf(secondJvm)).toBeUndefined();
  expect(await commandLineOf(firstJvm)).toBeUndefined();
}

describe('the local runtime killed with kill -9', () => {
  it('loses no acknowledged real-time event when killed mid-stream', async () => {
    await crashAndRecover({
      eventName: 'COURSE_COMPLETED',
      env: {},
      killWhen: (_, acknowledged) => acknowledged >= EVENTS / 2,
      eventLoggedOnce: true,
    });
  });

  it('loses no acknowledged batch event when killed during a batch flush', async () => {
    await crashAndRecover({
      eventName: 'COURSE_ENROLLMENT_BATCH',
      env: { BATCH_SCHEDULE: 'rate(10 seconds)' },
      // The first batch request is on its way: a flush is enqueueing requests while events still arrive.
      killWhen: (received) => received.received.length > 0,
      // A flush killed between enqueueing a request and removing its events from the backlog
      // cuts them again next time, with the events that arrived since: a second request may
      // carry some of them (the aggregator's idempotency is per request, not per event).
      eventLoggedOnce: false,
    });
  });

  it('loses no acknowledged event when killed during a burst of retries', async () => {
    await crashAndRecover({
      eventName: 'COURSE_COMPLETED',
      env: { RETRY_DELAYS_SECONDS: '1,2' },
      before: () => ({ status: 503 }),
      // Both webhooks' heads have been retried; the events behind them wait.
      killWhen: (received, acknowledged) =>
        acknowledged >= EVENTS / 2 && new Set(received.received.map((r) => r.headers['webhook-id'])).size < received.received.length - 4,
      eventLoggedOnce: true,
    });
  });
});
