import { PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLocalEnv, startLocalRuntime, type LocalRuntime } from '../../infra/local/runtime';
import { eventually } from './support/eventually';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';

/**
 * A doorbell lost with the process (kill -9 between a ring's write and its send, or a queue that
 * lost it): the next start on the same DATA_DIR rings every due doorbell again at once, long
 * before the sweeper would find it overdue (4 minutes).
 */
let listener: TestListener;
let dataDir: string;
const tableName = `test-${Math.random().toString(36).slice(2, 10)}`;
const accountId = 7101;

beforeAll(async () => {
  process.env.RETRY_DELAYS_SECONDS = '1';
  listener = await startListener();
  dataDir = await mkdtemp(join(tmpdir(), 'lms-webhooks-'));
});
afterAll(async () => {
  delete process.env.RETRY_DELAYS_SECONDS;
  await listener.close();
  await rm(dataDir, { recursive: true, force: true });
});

const start = () =>
  startLocalRuntime({
    env: parseLocalEnv({ PORT: '0', EVENTS_PORT: '0', DATA_DIR: dataDir, TABLE_NAME: tableName }),
    dynamoDbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
  });

async function api(runtime: LocalRuntime, path: string, init: RequestInit = {}): Promise<Response> {
  const token = await runtime.tokens.issue(accountId);
  return fetch(runtime.apiUrl + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
}

it('delivers a backlog whose doorbell was lost as soon as the service starts again', async () => {
  let down = true;
  listener.respond(() => ({ status: down ? 503 : 202 }));
  const first = await start();
  const created = await api(first, '/webhooks', {
    method: 'POST',
    body: JSON.stringify({ name: 'restart', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  expect(created.status).toBe(201);
  const lms = producer(first.eventsUrl);
  const data = { userId: 1, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course' };
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: 'before-restart', data })]);
  const { id } = (await created.json()) as { id: string };
  // The first attempt failed; its retry is due a second later. Then the doorbell is lost.
  const [pending] = await eventually(
    async () => ((await (await api(first, `/webhooks/${id}/deliveries?status=PENDING`)).json()) as { items: { attemptCount: number; nextAttemptAt?: string }[] }).items,
    (items) => items[0]?.nextAttemptAt !== undefined,
  );
  const sqs = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await sqs.send(new PurgeQueueCommand({ QueueUrl: process.env.DELIVERY_QUEUE_URL! }));
  sqs.destroy();
  lms.close();
  await first.stop();
  down = false;
  // Restart once the retry is due, as after any real outage.
  await eventually(async () => Date.now(), (now) => now >= Date.parse(pending!.nextAttemptAt!));

  const second = await start();
  try {
    const received = await eventually(async () => listener.received.filter((r) => r.body.includes('before-restart')), (r) => r.length >= 2, 30_000);
    expect(received.length).toBe(2);
  } finally {
    await second.stop();
  }
});
