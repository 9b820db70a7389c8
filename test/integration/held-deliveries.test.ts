import { eventually } from './support/eventually';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/**
 * A webhook disabled for failing holds its events; re-enabling it sends the delivery that disabled
 * it and the held ones, once each, in order, then new events. The window is compressed, but long
 * enough that the held events are still within it when the webhook is re-enabled.
 */
jest.setTimeout(90_000);

let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;

beforeAll(async () => {
  listener = await startListener();
  runtime = await startTestRuntime({ RETRY_DELAYS_SECONDS: '1', RETRY_WINDOW_SECONDS: '10' });
  lms = producer(runtime.eventsUrl);
});
afterAll(async () => {
  lms.close();
  await runtime.stop();
  await listener.close();
});

const data = { userId: 5, loId: 'course:2', loInstanceId: 'course:2_1', loType: 'course' };

interface WebhookBody {
  status: string;
  heldDeliveries?: number;
  oldestHeldEventAt?: string;
  heldRelease?: { released: number; skipped: number };
}

async function createFailingWebhook(accountId: number): Promise<{ id: string; failedId: string; attemptsSoFar: number }> {
  listener.respond(() => ({ status: 503 }));
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: 'held', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  const { id } = (await created.json()) as { id: string };
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: `doomed-${accountId}`, timestamp: Date.now() - 60_000, data })]);
  await eventually(
    async () => (await (await runtime.api(`/webhooks/${id}`, { accountId })).json()) as WebhookBody,
    (w) => w.status === 'DISABLED',
    60_000,
  );
  const failed = (await (await runtime.api(`/webhooks/${id}/deliveries?status=FAILED`, { accountId })).json()) as { items: { id: string }[] };
  expect(failed.items).toHaveLength(1);
  return { id, failedId: failed.items[0]!.id, attemptsSoFar: listener.received.length };
}

async function holdTwenty(accountId: number, id: string): Promise<string[]> {
  const start = Date.now() - 30_000;
  const eventIds = Array.from({ length: 20 }, (_, i) => `held-${accountId}-${String(i).padStart(2, '0')}`);
  const entries = eventIds.map((eventId, i) => lms.entry('COURSE_COMPLETED', { accountId, eventId, timestamp: start + i, data }));
  // PutEvents takes at most 10 entries per call.
  await lms.put(entries.slice(0, 10));
  await lms.put(entries.slice(10));
  const webhook = await eventually(
    async () => (await (await runtime.api(`/webhooks/${id}`, { accountId })).json()) as WebhookBody,
    (w) => w.heldDeliveries === 20,
  );
  expect(webhook.oldestHeldEventAt).toBe(new Date(start).toISOString());
  return eventIds;
}

it('holds events while the webhook is disabled and sends the failed one and the held ones, once each and in order, when it is re-enabled', async () => {
  const accountId = 4101;
  const { id, failedId, attemptsSoFar } = await createFailingWebhook(accountId);
  const eventIds = await holdTwenty(accountId, id);
  const held = (await (await runtime.api(`/webhooks/${id}/deliveries?status=HELD&limit=100`, { accountId })).json()) as { items: unknown[] };
  expect(held.items).toHaveLength(20);
  expect(listener.received).toHaveLength(attemptsSoFar);

  listener.respond(() => ({ status: 204 }));
  const patched = await runtime.api(`/webhooks/${id}`, { method: 'PATCH', accountId, body: JSON.stringify({ active: true }) });
  expect(patched.status).toBe(200);
  expect(((await patched.json()) as WebhookBody).heldRelease).toEqual({ released: 21, skipped: 0 });

  await eventually(
    async () => (await (await runtime.api(`/webhooks/${id}/deliveries?status=SUCCEEDED&limit=100`, { accountId })).json()) as { items: unknown[] },
    (page) => page.items.length === 21,
  );
  const sent = listener.received.slice(attemptsSoFar);
  expect(sent).toHaveLength(21);
  expect(sent[0]!.headers['webhook-id']).toBe(failedId);
  expect(sent.slice(1).map((r) => (JSON.parse(r.body) as { events: { eventId: string }[] }).events[0]!.eventId)).toEqual(eventIds);
  expect(((await (await runtime.api(`/webhooks/${id}`, { accountId })).json()) as WebhookBody).heldDeliveries).toBe(0);
});

it('discards what was held when the admin re-enables with discardHeld: logged SKIPPED, still redeliverable', async () => {
  const accountId = 4102;
  const { id, attemptsSoFar } = await createFailingWebhook(accountId);
  await holdTwenty(accountId, id);
  listener.respond(() => ({ status: 204 }));
  const patched = await runtime.api(`/webhooks/${id}`, { method: 'PATCH', accountId, body: JSON.stringify({ active: true, discardHeld: true }) });
  expect(((await patched.json()) as WebhookBody).heldRelease).toEqual({ released: 0, skipped: 20 });
  const skipped = (await (await runtime.api(`/webhooks/${id}/deliveries?status=SKIPPED&limit=100`, { accountId })).json()) as { items: { statusReason: string }[] };
  expect(skipped.items).toHaveLength(20);
  expect(skipped.items[0]!.statusReason).toMatch(/discarded when the webhook was re-enabled/);

  // New events flow again; nothing discarded is sent.
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: 'after-discard', data })]);
  const [after] = (await listener.waitFor(attemptsSoFar + 1)).slice(attemptsSoFar);
  expect((JSON.parse(after!.body) as { events: { eventId: string }[] }).events[0]!.eventId).toBe('after-discard');
});

it('refuses discardHeld without "active": true', async () => {
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId: 4103,
    body: JSON.stringify({ name: 'x', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  const { id } = (await created.json()) as { id: string };
  expect((await runtime.api(`/webhooks/${id}`, { method: 'PATCH', accountId: 4103, body: JSON.stringify({ discardHeld: true }) })).status).toBe(400);
});

it('410 Gone disables the webhook at once, after one request; what follows is held', async () => {
  const accountId = 4104;
  listener.respond(() => ({ status: 410 }));
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: 'gone', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  const { id } = (await created.json()) as { id: string };
  const before = listener.received.length;
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: 'gone-1', data })]);
  const webhook = await eventually(
    async () => (await (await runtime.api(`/webhooks/${id}`, { accountId })).json()) as WebhookBody & { statusReason?: string },
    (w) => w.status === 'DISABLED',
  );
  expect(webhook.statusReason).toMatch(/410 Gone/);
  expect(listener.received.length - before).toBe(1);
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: 'gone-2', data })]);
  await eventually(
    async () => (await (await runtime.api(`/webhooks/${id}`, { accountId })).json()) as WebhookBody,
    (w) => w.heldDeliveries === 1,
  );
  expect(listener.received.length - before).toBe(1);
});
