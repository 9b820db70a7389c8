import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { PendingStore } from '../../shared/batch/pending-store';
import { eventually } from './support/eventually';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';
import { pendingKeys } from '../../shared/storage/table';

/**
 * Batch events end to end on the local runtime: produced on the bus, routed to the pending store,
 * flushed by the aggregator on BATCH_SCHEDULE rate(2 seconds), delivered by the delivery worker.
 *
 * The events arrive over more than one 2-second tick, so the test holds each webhook's flush lease
 * while producing and lets go once everything is pending: the next run then sees the whole backlog.
 */
const ACCOUNT = 4001;
/**
 * The burst test's own account: the router caches an account's webhooks for 5 s, so right after
 * the first test ACCOUNT's cached list would not show the burst webhook yet.
 */
const BURST_ACCOUNT = 4002;
const HOLDER = 'e2e-test';

let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;
let db: DynamoDBDocumentClient;
let store: PendingStore;

beforeAll(async () => {
  listener = await startListener();
  runtime = await startTestRuntime({ BATCH_SCHEDULE: 'rate(2 seconds)' });
  lms = producer(runtime.eventsUrl);
  db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  store = new PendingStore(db, process.env.TABLE_NAME!);
});
afterAll(async () => {
  lms.close();
  await runtime.stop();
  await listener.close();
});

async function createWebhook(path: string, accountId = ACCOUNT): Promise<{ id: string; signingSecret: string }> {
  const response = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: path, targetUrl: `${listener.url}/${path}`, auth: { type: 'SIGNATURE' }, events: ['COURSE_ENROLLMENT_BATCH'] }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; signingSecret: string };
}

async function holdFlush(webhookId: string): Promise<void> {
  await db.send(
    new PutCommand({
      TableName: process.env.TABLE_NAME!,
      Item: { pk: pendingKeys.partition(webhookId), sk: pendingKeys.due, leaseOwner: HOLDER, leaseUntil: Date.now() + 600_000 },
    }),
  );
}

async function releaseFlush(webhookId: string): Promise<void> {
  await store.releaseLease({ webhookId, accountId: ACCOUNT, owner: HOLDER, version: 0 }, false);
}

async function view(webhookId: string): Promise<{ pendingBatchEvents: number; nextBatchFlushAt: string; active: boolean }> {
  return (await (await runtime.api(`/webhooks/${webhookId}`, { accountId: ACCOUNT })).json()) as never;
}

const enrolment = (n: number) => ({ userId: 5000 + n, loId: 'course:7374992', loInstanceId: 'course:7374992_1', loType: 'course', enrollmentSource: 'ADMIN_ENROLL' });

describe('batch events end to end', () => {
  it('sends 250 events as 100 + 100 + 50, in timestamp order, signed and logged; a deactivated webhook gets them as SKIPPED, sent on redeliver', async () => {
    const active = await createWebhook('active');
    const deactivated = await createWebhook('deactivated');
    await holdFlush(active.id);
    await holdFlush(deactivated.id);

    // Produced in an order unlike their timestamps: the listener must get timestamp order.
    const base = Date.UTC(2026, 0, 1);
    const numbers = Array.from({ length: 250 }, (_, i) => (i * 97) % 250);
    for (let i = 0; i < numbers.length; i += 10) {
      const entries = numbers
        .slice(i, i + 10)
        .map((n) => lms.entry('COURSE_ENROLLMENT_BATCH', { accountId: ACCOUNT, eventId: `enrol-${n}`, timestamp: base + n * 1000, data: enrolment(n) }));
      expect((await lms.put(entries)).FailedEntryCount).toBe(0);
    }
    // Generous waits: on a busy 2-core machine routing 500 pending entries takes a while.
    await eventually(() => view(active.id), (v) => v.pendingBatchEvents === 250, 90_000);
    await eventually(() => view(deactivated.id), (v) => v.pendingBatchEvents === 250, 90_000);
    expect(Date.parse((await view(active.id)).nextBatchFlushAt)).toBeGreaterThan(Date.now() - 1000);

    const patched = await runtime.api(`/webhooks/${deactivated.id}`, { method: 'PATCH', accountId: ACCOUNT, body: JSON.stringify({ active: false }) });
    expect(patched.status).toBe(200);
    await releaseFlush(deactivated.id);
    await releaseFlush(active.id);

    const requests = await listener.waitFor(3, 60_000);
    const bodies = requests.map((r) => JSON.parse(r.body) as { accountId: number; events: { eventId: string; timestamp: number }[] });
    expect(requests.map((r) => r.path)).toEqual(['/hook/active', '/hook/active', '/hook/active']);
    expect(bodies.map((b) => b.events.length)).toEqual([100, 100, 50]);
    expect(bodies.every((b) => b.accountId === ACCOUNT)).toBe(true);
    const sent = bodies.flatMap((b) => b.events);
    expect(sent.map((e) => e.eventId)).toEqual(Array.from({ length: 250 }, (_, n) => `enrol-${n}`));
    expect(sent.map((e) => e.timestamp)).toEqual([...sent.map((e) => e.timestamp)].sort((a, b) => a - b));
    const verifier = new StandardWebhook(active.signingSecret);
    for (const request of requests) expect(() => verifier.verify(request.body, request.headers as Record<string, string>)).not.toThrow();

    const log = await eventually(
      async () => (await (await runtime.api(`/webhooks/${active.id}/deliveries`, { accountId: ACCOUNT })).json()) as { items: { id: string; status: string; kind: string; eventIds: string[] }[] },
      (page) => page.items.length === 3 && page.items.every((d) => d.status === 'SUCCEEDED'),
      60_000,
    );
    expect(log.items.every((d) => d.kind === 'batch')).toBe(true);
    expect(new Set(log.items.map((d) => d.id))).toEqual(new Set(requests.map((r) => r.headers['webhook-id'])));
    expect(log.items.map((d) => d.eventIds.length).sort()).toEqual([100, 100, 50].sort());

    // The deactivated webhook's events are logged as SKIPPED by the flush, never sent on their own…
    // (A delivery can reach the listener before the flush has removed its events: wait for both.)
    await eventually(() => view(deactivated.id), (v) => v.pendingBatchEvents === 0, 60_000);
    await eventually(() => view(active.id), (v) => v.pendingBatchEvents === 0, 60_000);
    expect(listener.received.filter((r) => r.path === '/hook/deactivated')).toEqual([]);
    type LogPage = { items: { id: string; status: string; statusReason?: string; eventIds: string[] }[] };
    const skipped = (await (await runtime.api(`/webhooks/${deactivated.id}/deliveries?status=SKIPPED`, { accountId: ACCOUNT })).json()) as LogPage;
    expect(skipped.items.map((d) => [d.status, d.statusReason, d.eventIds.length])).toEqual([
      ['SKIPPED', 'webhook is INACTIVE', 50],
      ['SKIPPED', 'webhook is INACTIVE', 100],
      ['SKIPPED', 'webhook is INACTIVE', 100],
    ]);

    // …and redelivered once the webhook is active again.
    await runtime.api(`/webhooks/${deactivated.id}`, { method: 'PATCH', accountId: ACCOUNT, body: JSON.stringify({ active: true }) });
    const last = skipped.items[0]!;
    const redelivered = await runtime.api(`/webhooks/${deactivated.id}/deliveries/${last.id}/redeliver`, { method: 'POST', accountId: ACCOUNT });
    expect(redelivered.status).toBe(202);
    const [resent] = await eventually(
      async () => listener.received.filter((r) => r.path === '/hook/deactivated'),
      (received) => received.length === 1,
      60_000,
    );
    expect(resent!.headers['webhook-id']).toBe(last.id);
    expect((JSON.parse(resent!.body) as { events: { eventId: string }[] }).events.map((e) => e.eventId)).toEqual(last.eventIds);
  }, 300_000);

  it('sends a burst arriving across schedule ticks as full requests: 100 + 100 + 50, in order', async () => {
    await createWebhook('burst', BURST_ACCOUNT);
    const base = Date.UTC(2026, 1, 1);
    for (let i = 0; i < 250; i += 10) {
      const entries = Array.from({ length: 10 }, (_, k) => i + k).map((n) =>
        lms.entry('COURSE_ENROLLMENT_BATCH', { accountId: BURST_ACCOUNT, eventId: `burst-${n}`, timestamp: base + n * 1000, data: enrolment(n) }),
      );
      expect((await lms.put(entries)).FailedEntryCount).toBe(0);
    }
    const received = await eventually(
      async () => listener.received.filter((r) => r.path === '/hook/burst'),
      (requests) => requests.reduce((sum, r) => sum + (JSON.parse(r.body) as { events: unknown[] }).events.length, 0) >= 250,
      90_000,
    );
    const bodies = received.map((r) => JSON.parse(r.body) as { events: { eventId: string }[] });
    expect(bodies.map((b) => b.events.length)).toEqual([100, 100, 50]);
    expect(bodies.flatMap((b) => b.events.map((e) => e.eventId))).toEqual(Array.from({ length: 250 }, (_, n) => `burst-${n}`));
  }, 120_000);
});
