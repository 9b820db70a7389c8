import { eventually } from './support/eventually';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/** The health shown by GET /webhooks/{id} is counted as attempts are recorded, and matches what the listener saw. */
let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;
const accountId = 4301;
const data = { userId: 5, loId: 'course:2', loInstanceId: 'course:2_1', loType: 'course' };

beforeAll(async () => {
  listener = await startListener();
  runtime = await startTestRuntime({ RETRY_DELAYS_SECONDS: '1' });
  lms = producer(runtime.eventsUrl);
});
afterAll(async () => {
  lms.close();
  await runtime.stop();
  await listener.close();
});

interface Health {
  successRate24h?: number;
  attempts24h: number;
  lastSuccessAt?: string;
  lastFailureAt?: string;
  undelivered: number;
  oldestUndeliveredEventAt?: string;
}

const eventIdOf = (body: string) => (JSON.parse(body) as { events: { eventId: string }[] }).events[0]!.eventId;

it('counts attempts, successes, the last success and failure, and what is undelivered', async () => {
  // Each event's first request fails, the retry succeeds.
  const tried = new Set<string>();
  listener.respond((request) => {
    const eventId = eventIdOf(request.body);
    if (tried.has(eventId)) return { status: 204 };
    tried.add(eventId);
    return { status: 500 };
  });
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: 'health', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  const { id } = (await created.json()) as { id: string };
  const start = listener.received.length;
  await lms.put([1, 2, 3].map((n) => lms.entry('COURSE_COMPLETED', { accountId, eventId: `h${n}`, data })));

  const health = (
    await eventually(
      async () => (await (await runtime.api(`/webhooks/${id}`, { accountId })).json()) as { health: Health },
      (w) => w.health.attempts24h === 6 && w.health.undelivered === 0,
    )
  ).health;
  const seen = listener.received.slice(start);
  expect(seen).toHaveLength(6);
  expect(health.successRate24h).toBe(0.5);
  expect(health.oldestUndeliveredEventAt).toBeUndefined();
  expect(Date.parse(health.lastSuccessAt!)).toBeGreaterThanOrEqual(Date.parse(health.lastFailureAt!));

  // A listener that is down: the head is undelivered, with its event's time.
  listener.respond(() => ({ status: 503 }));
  const timestamp = Date.now() - 5000;
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: 'h4', timestamp, data })]);
  const down = (
    await eventually(
      async () => (await (await runtime.api(`/webhooks/${id}`, { accountId })).json()) as { health: Health },
      (w) => w.health.attempts24h >= 7 && w.health.undelivered === 1,
    )
  ).health;
  expect(down.oldestUndeliveredEventAt).toBe(new Date(timestamp).toISOString());
  expect(down.attempts24h).toBe(listener.received.length - start);
});
