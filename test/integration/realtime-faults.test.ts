import { freePort } from '../../infra/local/dynamodb-local';
import { startListener, type Reply, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/**
 * Every way a listener can fail is a logged, failed attempt followed by a retry at the scheduled
 * time, while the webhook's later events wait behind it.
 */
let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;

beforeAll(async () => {
  listener = await startListener();
  // Retries after 1 s, except that Retry-After may stretch a wait to the longest delay, 3 s.
  runtime = await startTestRuntime({ RETRY_DELAYS_SECONDS: '1,1,1,1,1,1,1,1,3', ROUTER_CONCURRENCY: '1' });
  lms = producer(runtime.eventsUrl);
});
afterAll(async () => {
  lms.close();
  await runtime.stop();
  await listener.close();
});

const data = (seq: number) => ({ userId: 1, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course', seq });

async function createWebhook(accountId: number, targetUrl: string): Promise<string> {
  const response = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: 'faults', targetUrl, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  return ((await response.json()) as { id: string }).id;
}

interface DeliveryDetail {
  id: string;
  status: string;
  attemptCount: number;
  nextAttemptAt?: string;
  attempts: { number: number; statusCode?: number; error?: string; responseBody?: string; durationMs: number }[];
}

it('logs each failure mode as a failed attempt, retries on schedule, and holds later events back', async () => {
  const replies: Reply[] = [
    { status: 500, body: 'internal error' },
    { status: 404 },
    { status: 429, headers: { 'retry-after': '2' } },
    // Closing here makes the reset below hit a fresh connection: on a reused keep-alive socket the
    // sender would retry a reset once, as a stale-connection race, and the reset would go unseen.
    { status: 301, headers: { location: 'https://elsewhere.example.com/', connection: 'close' } },
    'reset',
    { status: 500, body: 'x'.repeat(10 * 1024 * 1024) },
    { status: 202, delayMs: 6000 },
    { status: 202 },
  ];
  listener.respond((request, index) => {
    const seq = (JSON.parse(request.body) as { events: { data: { seq: number } }[] }).events[0]!.data.seq;
    return seq === 1 ? replies[index]! : { status: 202 };
  });
  const webhookId = await createWebhook(3001, listener.url);
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId: 3001, data: data(1) }), lms.entry('COURSE_COMPLETED', { accountId: 3001, data: data(2) })]);

  const received = await listener.waitFor(replies.length + 1, 40_000);
  const seqs = received.map((r) => (JSON.parse(r.body) as { events: { data: { seq: number } }[] }).events[0]!.data.seq);
  expect(seqs).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 2]);
  // Every retry of the first event carries the same webhook-id.
  expect(new Set(received.slice(0, replies.length).map((r) => r.headers['webhook-id'])).size).toBe(1);
  // Retry-After: 2 stretched the scheduled 1 s wait.
  expect(received[3]!.at - received[2]!.at).toBeGreaterThanOrEqual(1900);

  const deliveries = (await (await runtime.api(`/webhooks/${webhookId}/deliveries`, { accountId: 3001 })).json()) as { items: { id: string }[] };
  const first = deliveries.items[deliveries.items.length - 1]!;
  const detail = (await (await runtime.api(`/webhooks/${webhookId}/deliveries/${first.id}`, { accountId: 3001 })).json()) as DeliveryDetail;
  expect(detail.status).toBe('SUCCEEDED');
  expect(detail.attempts.map((a) => [a.number, a.statusCode ?? null, a.error ?? null])).toEqual([
    [1, 500, 'HTTP 500'],
    [2, 404, 'HTTP 404'],
    [3, 429, 'HTTP 429'],
    [4, 301, expect.stringMatching(/redirect/)],
    [5, null, 'connection reset'],
    [6, 500, 'HTTP 500'],
    [7, null, expect.stringMatching(/response timeout/)],
    [8, 202, null],
  ]);
  expect(detail.attempts[0]!.responseBody).toBe('internal error');
  expect(Buffer.byteLength(detail.attempts[5]!.responseBody ?? '')).toBeLessThanOrEqual(2048);
  expect(detail.attempts[6]!.durationMs).toBeGreaterThanOrEqual(4900);
}, 60_000);

it('records refused connections and keeps the delivery pending with its next attempt time', async () => {
  // A port that was free a moment ago: nothing listens there.
  const closedPort = await freePort();
  const webhookId = await createWebhook(3002, `http://127.0.0.1:${closedPort}/hook`);
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId: 3002, data: data(1) })]);

  const deadline = Date.now() + 15_000;
  let detail: DeliveryDetail | undefined;
  while (Date.now() < deadline) {
    const page = (await (await runtime.api(`/webhooks/${webhookId}/deliveries`, { accountId: 3002 })).json()) as { items: { id: string }[] };
    if (page.items[0]) {
      detail = (await (await runtime.api(`/webhooks/${webhookId}/deliveries/${page.items[0].id}`, { accountId: 3002 })).json()) as DeliveryDetail;
      if (detail.attemptCount >= 2) break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(detail).toMatchObject({ status: 'PENDING', nextAttemptAt: expect.any(String) });
  expect(detail!.attempts.slice(0, 2).map((a) => a.error)).toEqual(['connection refused', 'connection refused']);
});
