import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PendingStore } from '../../shared/batch/pending-store';
import { batchEvent, freshTable, webhookFixture } from './support/batch';

let db: DynamoDBDocumentClient;
let tableName: string;
let clock: number;
let store: PendingStore;

beforeAll(async () => {
  ({ db, tableName } = await freshTable());
});
beforeEach(() => {
  clock = 1_767_225_600_000;
  store = new PendingStore(db, tableName, () => clock);
});

async function readAll(webhookId: string) {
  const page = await store.read(webhookId, { limit: 1000 });
  return page.items;
}

describe('adding batch events', () => {
  it('stores the same event id once, however often it is added', async () => {
    const webhook = webhookFixture();
    const event = batchEvent(1);
    await store.add(webhook, event);
    await store.add(webhook, event);
    await store.add(webhook, { ...event, timestamp: event.timestamp + 5 });

    expect((await readAll(webhook.id)).map((p) => p.event)).toEqual([event]);
    expect((await store.summary(webhook.id, 'rate(15 minutes)')).pendingBatchEvents).toBe(1);
  });

  it('keeps a webhook backlog in timestamp order, then arrival order', async () => {
    const webhook = webhookFixture();
    const late = batchEvent(3);
    const early = batchEvent(1);
    const tieFirst = batchEvent(2, { eventId: 'zzz-first' });
    const tieSecond = batchEvent(2, { eventId: 'aaa-second' });
    for (const event of [late, early, tieFirst, tieSecond]) await store.add(webhook, event);

    expect((await readAll(webhook.id)).map((p) => p.event.eventId)).toEqual([early.eventId, tieFirst.eventId, tieSecond.eventId, late.eventId]);
  });

  it('keeps the event exactly as it came, and when it arrived', async () => {
    const webhook = webhookFixture();
    const event = batchEvent(1, { data: { userId: '007', nested: { list: [1, 2.5, null, 'x'] }, empty: '' } });
    await store.add(webhook, event);
    const [stored] = await readAll(webhook.id);
    expect(stored).toMatchObject({ event, arrivedAt: clock });
  });

  it('adds many events at once with the same guarantees: each id once, in order, counted', async () => {
    const webhook = webhookFixture();
    await store.add(webhook, batchEvent(7));
    const events = Array.from({ length: 120 }, (_, i) => batchEvent(120 - i));
    await store.addMany(webhook, [...events, batchEvent(3)]);

    expect((await readAll(webhook.id)).map((p) => p.event.eventId)).toEqual(Array.from({ length: 120 }, (_, i) => `evt-${i + 1}`));
    expect((await store.summary(webhook.id, 'rate(15 minutes)')).pendingBatchEvents).toBe(120);
  });

  it('keeps the backlogs of different webhooks apart', async () => {
    const first = webhookFixture();
    const second = webhookFixture();
    await store.add(first, batchEvent(1));
    await store.add(second, batchEvent(1));
    await store.add(second, batchEvent(2));
    expect(await readAll(first.id)).toHaveLength(1);
    expect(await readAll(second.id)).toHaveLength(2);
  });
});

describe('due webhooks and the flush lease', () => {
  it('lists a webhook as due once it has pending events, with its account', async () => {
    const webhook = webhookFixture({ accountId: 2020 });
    expect((await store.dueWebhooks()).map((d) => d.webhookId)).not.toContain(webhook.id);
    await store.add(webhook, batchEvent(1));
    expect(await store.dueWebhooks()).toContainEqual({ webhookId: webhook.id, accountId: 2020 });
  });

  it('gives the lease to one run at a time until it is released or expires', async () => {
    const webhook = webhookFixture();
    await store.add(webhook, batchEvent(1));
    const lease = await store.acquireLease(webhook.id, 'run-a', clock + 60_000);
    expect(lease).toMatchObject({ webhookId: webhook.id, accountId: webhook.accountId, owner: 'run-a' });
    expect(await store.acquireLease(webhook.id, 'run-b', clock + 60_000)).toBeUndefined();
    expect(await store.dueWebhooks()).toContainEqual(expect.objectContaining({ webhookId: webhook.id, leaseUntil: clock + 60_000 }));

    await store.releaseLease(lease!, false);
    const second = await store.acquireLease(webhook.id, 'run-b', clock + 60_000);
    expect(second?.owner).toBe('run-b');

    clock += 60_001;
    expect((await store.acquireLease(webhook.id, 'run-c', clock + 60_000))?.owner).toBe('run-c');
  });

  it('has no lease to give for a webhook with nothing pending', async () => {
    expect(await store.acquireLease(webhookFixture().id, 'run-a', clock + 60_000)).toBeUndefined();
  });

  it('removes flushed events and the due marker once the backlog is drained', async () => {
    const webhook = webhookFixture();
    for (let n = 1; n <= 30; n++) await store.add(webhook, batchEvent(n));
    const lease = (await store.acquireLease(webhook.id, 'run-a', clock + 60_000))!;
    const events = await readAll(webhook.id);
    await store.remove(lease, events.slice(0, 27));
    expect((await store.summary(webhook.id, 'rate(15 minutes)')).pendingBatchEvents).toBe(3);
    await store.remove(lease, events.slice(27));
    await store.releaseLease(lease, true);

    expect(await readAll(webhook.id)).toEqual([]);
    expect((await store.dueWebhooks()).map((d) => d.webhookId)).not.toContain(webhook.id);
    expect((await store.summary(webhook.id, 'rate(15 minutes)')).pendingBatchEvents).toBe(0);
  });

  it('keeps the due marker when an event was added while the backlog was being drained', async () => {
    const webhook = webhookFixture();
    await store.add(webhook, batchEvent(1));
    const lease = (await store.acquireLease(webhook.id, 'run-a', clock + 60_000))!;
    await store.remove(lease, await readAll(webhook.id));
    await store.add(webhook, batchEvent(2));
    await store.releaseLease(lease, true);

    expect(await store.dueWebhooks()).toContainEqual({ webhookId: webhook.id, accountId: webhook.accountId });
    expect((await store.summary(webhook.id, 'rate(15 minutes)')).pendingBatchEvents).toBe(1);
  });

  it('refuses removals by a run whose lease was taken over', async () => {
    const webhook = webhookFixture();
    await store.add(webhook, batchEvent(1));
    const stale = (await store.acquireLease(webhook.id, 'run-a', clock + 1000))!;
    clock += 2000;
    await store.acquireLease(webhook.id, 'run-b', clock + 60_000);
    await expect(store.remove(stale, await readAll(webhook.id))).rejects.toThrow('taken over');
  });

  it('pages through a backlog in order', async () => {
    const webhook = webhookFixture();
    for (let n = 10; n >= 1; n--) await store.add(webhook, batchEvent(n));
    const first = await store.read(webhook.id, { limit: 4 });
    const second = await store.read(webhook.id, { limit: 100, after: first.nextKey! });
    expect([...first.items, ...second.items].map((p) => p.event.eventId)).toEqual(Array.from({ length: 10 }, (_, i) => `evt-${i + 1}`));
    expect(second.nextKey).toBeUndefined();
  });
});
