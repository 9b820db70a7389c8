import { eventually } from './support/eventually';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/** Running out of retries: the delivery fails, the webhook is disabled, and redelivery brings it back. */
let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;
const accountId = 4001;

beforeAll(async () => {
  listener = await startListener();
  runtime = await startTestRuntime({ RETRY_DELAYS_SECONDS: '1', RETRY_WINDOW_SECONDS: '3' });
  lms = producer(runtime.eventsUrl);
});
afterAll(async () => {
  lms.close();
  await runtime.stop();
  await listener.close();
});

const data = { userId: 5, loId: 'course:2', loInstanceId: 'course:2_1', loType: 'course' };

async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await runtime.api(path, { accountId, ...init })).json()) as T;
}

it('disables the webhook when a delivery runs out of retries; re-enabling sends it and what was held, and it can be redelivered', async () => {
  listener.respond(() => ({ status: 503 }));
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: 'flaky', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  const { id } = (await created.json()) as { id: string };
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: 'doomed', data })]);

  const webhook = await eventually(
    () => json<{ status: string; statusReason?: string; active: boolean }>(`/webhooks/${id}`),
    (w) => w.status === 'DISABLED',
  );
  expect(webhook.active).toBe(false);
  expect(webhook.statusReason).toMatch(/gave up after \d+ attempts/);

  const failed = await json<{ items: { id: string; status: string; eventIds: string[] }[] }>(`/webhooks/${id}/deliveries?status=FAILED`);
  expect(failed.items).toHaveLength(1);
  expect(failed.items[0]!.eventIds).toEqual(['doomed']);
  const attemptsSoFar = listener.received.length;
  expect(attemptsSoFar).toBeGreaterThanOrEqual(2);

  // A disabled webhook receives nothing: what arrives meanwhile is held in its backlog.
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: 'while-disabled', data })]);
  await eventually(
    () => json<{ items: { eventIds: string[] }[] }>(`/webhooks/${id}/deliveries?status=HELD`),
    (page) => page.items.length === 1 && page.items[0]!.eventIds[0] === 'while-disabled',
  );
  expect(listener.received).toHaveLength(attemptsSoFar);

  // Redelivery is refused until the webhook is active again.
  const refused = await runtime.api(`/webhooks/${id}/deliveries/${failed.items[0]!.id}/redeliver`, { method: 'POST', accountId });
  expect(refused.status).toBe(409);

  // Re-enabling sends the delivery that disabled the webhook, then what was held, in order.
  listener.respond(() => ({ status: 202 }));
  expect((await runtime.api(`/webhooks/${id}`, { method: 'PATCH', accountId, body: JSON.stringify({ active: true }) })).status).toBe(200);
  const received = await listener.waitFor(attemptsSoFar + 2);
  expect(received[attemptsSoFar]!.headers['webhook-id']).toBe(failed.items[0]!.id);
  expect((JSON.parse(received[attemptsSoFar + 1]!.body) as { events: { eventId: string }[] }).events[0]!.eventId).toBe('while-disabled');
  await eventually(
    () => json<{ status: string; attempts: unknown[] }>(`/webhooks/${id}/deliveries/${failed.items[0]!.id}`),
    (d) => d.status === 'SUCCEEDED',
  );
  // A finished delivery can be redelivered again.
  const again = await runtime.api(`/webhooks/${id}/deliveries/${failed.items[0]!.id}/redeliver`, { method: 'POST', accountId });
  expect(again.status).toBe(202);
  expect(await again.json()).toMatchObject({ id: failed.items[0]!.id, status: 'PENDING' });
});

it('sends a test event synchronously and logs it', async () => {
  listener.respond(() => ({ status: 200, body: 'hello from the listener' }));
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId: 4002,
    body: JSON.stringify({ name: 'test me', targetUrl: listener.url, auth: { type: 'SIGNATURE' }, events: ['CI_STATS'] }),
  });
  const { id } = (await created.json()) as { id: string };
  const response = await runtime.api(`/webhooks/${id}/test`, { method: 'POST', accountId: 4002 });
  expect(response.status).toBe(200);
  const result = (await response.json()) as Record<string, unknown>;
  expect(result).toMatchObject({ delivered: true, statusCode: 200, responseBody: 'hello from the listener', error: null, durationMs: expect.any(Number) });
  const last = listener.received[listener.received.length - 1]!;
  expect(JSON.parse(last.body)).toMatchObject({ accountId: 4002, events: [{ eventName: 'WEBHOOK_TEST' }] });
  expect(last.headers['webhook-signature']).toMatch(/^v1,/);

  const own = (await (await runtime.api(`/webhooks/${id}/deliveries`, { accountId: 4002 })).json()) as { items: { kind: string; status: string }[] };
  expect(own.items).toEqual([expect.objectContaining({ kind: 'test', status: 'SUCCEEDED' })]);

  listener.respond(() => ({ status: 500 }));
  const failing = (await (await runtime.api(`/webhooks/${id}/test`, { method: 'POST', accountId: 4002 })).json()) as Record<string, unknown>;
  expect(failing).toMatchObject({ delivered: false, statusCode: 500, error: 'HTTP 500' });
});

it('paginates and filters the delivery log, and hides other accounts’ logs', async () => {
  listener.respond(() => ({ status: 202 }));
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId: 4003,
    body: JSON.stringify({ name: 'log', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  const { id } = (await created.json()) as { id: string };
  await lms.put(Array.from({ length: 5 }, (_, i) => lms.entry('COURSE_COMPLETED', { accountId: 4003, eventId: `log-${i}`, data })));
  await eventually(
    async () => (await (await runtime.api(`/webhooks/${id}/deliveries?status=SUCCEEDED&limit=100`, { accountId: 4003 })).json()) as { items: unknown[] },
    (page) => page.items.length === 5,
  );
  const first = (await (await runtime.api(`/webhooks/${id}/deliveries?limit=2`, { accountId: 4003 })).json()) as { items: { eventIds: string[] }[]; nextToken?: string };
  expect(first.items.map((d) => d.eventIds[0])).toEqual(['log-4', 'log-3']);
  const second = (await (await runtime.api(`/webhooks/${id}/deliveries?limit=2&nextToken=${encodeURIComponent(first.nextToken!)}`, { accountId: 4003 })).json()) as { items: { eventIds: string[] }[] };
  expect(second.items.map((d) => d.eventIds[0])).toEqual(['log-2', 'log-1']);
  expect((await runtime.api(`/webhooks/${id}/deliveries?status=NOPE`, { accountId: 4003 })).status).toBe(400);
  expect((await runtime.api(`/webhooks/${id}/deliveries`, { accountId: 4004 })).status).toBe(404);
  expect((await runtime.api(`/webhooks/${id}/deliveries/msg_00000000000000000000000000`, { accountId: 4003 })).status).toBe(404);
});
