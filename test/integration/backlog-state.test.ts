import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import type { Doorbell } from '../../shared/deliveries/model';
import { DeliveryStore } from '../../shared/deliveries/store';
import { sweepDoorbells } from '../../shared/deliveries/sweeper';
import { PendingStore } from '../../shared/batch/pending-store';
import { EventPins } from '../../shared/ingest/event-pins';
import { RejectedEventStore } from '../../shared/ingest/rejected-store';
import { EventRouter } from '../../shared/ingest/router';
import { backlogStateKey } from '../../shared/storage/table';
import { AccountWebhooksCache } from '../../shared/webhooks/cache';
import { WebhookStore } from '../../shared/webhooks/store';
import { freshTable, webhookFixture } from './support/batch';
import { randomUUID } from 'node:crypto';
import { newId } from '../../shared/ids';

/**
 * The backlog states of an account's webhooks share one item: an ingest batch costs one state
 * update per account, whatever number of its webhooks it wrote to; the sweeper finds every overdue
 * doorbell of an account, also one rung while another of its webhooks is held for hours.
 */
const REALTIME = ['COURSE_ENROLLMENT', 'COURSE_COMPLETED', 'LEARNING_PATH_ENROLLMENT', 'LEARNING_PATH_COMPLETED', 'CERTIFICATION_COMPLETED'];
const data = { userId: 42, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course' };

function busMessage(accountId: number, eventName: string, eventId: string, timestamp: number): string {
  const detail = { accountId, eventId, timestamp, data };
  return JSON.stringify({ version: '0', id: `bus-${eventId}`, 'detail-type': eventName, source: 'lms', account: '0', time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], detail });
}

async function setUp(now: () => Date = () => new Date()) {
  const { db, tableName, calls } = await freshTable();
  const rung: Doorbell[] = [];
  const deliveries = new DeliveryStore(db, tableName, 30, now);
  const webhooks = new WebhookStore(db, tableName);
  const state = new BacklogStateStore(db, tableName, { ring: async (doorbell) => void rung.push(doorbell) }, async (accountId) => (await webhooks.listAll(accountId)).map((w) => w.id), now);
  const router = new EventRouter({
    webhooks: new AccountWebhooksCache(webhooks),
    backlog: new DeliveryBacklog(deliveries, state, now),
    state,
    pending: new PendingStore(db, tableName),
    rejected: new RejectedEventStore(db, tableName),
    pins: new EventPins(db, tableName),
  });
  return { db, tableName, calls, rung, deliveries, state, webhooks, router };
}

it('an ingest batch for 2 accounts × 5 webhooks: one state update per account, one doorbell per webhook, none for the next batch', async () => {
  const { calls, rung, webhooks, router } = await setUp();
  const accounts = [2001, 2002];
  for (const accountId of accounts) for (const eventName of REALTIME) await webhooks.create(webhookFixture({ accountId, events: [eventName] }), 5);

  const batch = (round: number) =>
    accounts.flatMap((accountId) =>
      REALTIME.map((eventName, i) => ({ id: `m-${round}-${accountId}-${i}`, body: busMessage(accountId, eventName, `evt-${round}-${accountId}-${i}`, 1_767_225_600_000 + round * 1000 + i) })),
    );
  const route = async (round: number) => {
    calls.splice(0);
    const results = await Promise.all(router.routeBatch(batch(round)).values());
    expect(results.every((r) => r.outcome === 'routed' && r.deliveries === 1)).toBe(true);
    return calls.map((c) => c.name);
  };

  const first = await route(1);
  expect(first.filter((name) => name === 'PutItemCommand')).toHaveLength(10);
  expect(first.filter((name) => name === 'UpdateItemCommand')).toHaveLength(2);
  expect(rung).toHaveLength(10);
  expect(new Set(rung.map((d) => d.webhookId)).size).toBe(10);

  // Still rung (nothing drained): the state is counted, no doorbell is sent again.
  const second = await route(2);
  expect(second.filter((name) => name === 'UpdateItemCommand')).toHaveLength(2);
  expect(second.filter((name) => name === 'BatchGetItemCommand')).toHaveLength(1);
  expect(rung).toHaveLength(10);
});

it("an account's state item with 5 webhooks rung, held and with cursors (no replay running) stays within 1 KB: each write of it is 1 write unit", async () => {
  const { db, tableName, state } = await setUp();
  const hooks = Array.from({ length: 5 }, () => webhookFixture({ accountId: 5005, id: newId('wh') }));
  await state.recordWrites(5005, hooks.map((hook) => ({ webhookId: hook.id, deliveryId: newId('msg') })));
  for (const hook of hooks) {
    const before = (await state.read(5005, hook.id))!;
    await state.save(before, `${newId('msg')}.`, { kind: 'hold', wakeAt: new Date(Date.now() + 300_000).toISOString() }, { messageId: randomUUID(), receiveCount: 123 });
  }
  await state.recordWrites(5005, hooks.map((hook) => ({ webhookId: hook.id, deliveryId: newId('msg') })));
  const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: backlogStateKey(5005), ConsistentRead: true }));
  // A put is billed by the item's size, as every update of it is.
  const { ConsumedCapacity } = await db.send(new PutCommand({ TableName: tableName, Item, ReturnConsumedCapacity: 'TOTAL' }));
  expect(ConsumedCapacity?.CapacityUnits).toBe(1);
});

it('the sweeper re-rings a lost doorbell of an account whose other webhook is held for an hour, and one rung after that hold', async () => {
  let clock = Date.UTC(2026, 0, 1);
  const now = () => new Date(clock);
  const { db, tableName, rung, state, webhooks } = await setUp(now);
  const [a, b, c] = [webhookFixture({ accountId: 3003 }), webhookFixture({ accountId: 3003 }), webhookFixture({ accountId: 3003 })];
  for (const hook of [a, b, c]) await webhooks.create(hook, 5);
  const receipt = { messageId: 'm-1', receiveCount: 1 };
  const sweep = () => sweepDoorbells(state, { overdueAfterSeconds: 240, now });
  const indexTime = async () => (await db.send(new GetCommand({ TableName: tableName, Key: backlogStateKey(3003), ConsistentRead: true }))).Item?.gsi1sk;

  await state.recordWrites(3003, [
    { webhookId: a.id, deliveryId: 'msg_a1' },
    { webhookId: b.id, deliveryId: 'msg_b1' },
  ]);
  expect(rung.map((d) => d.webhookId).sort()).toEqual([a.id, b.id].sort());
  // B's head failed: its doorbell is held for an hour. A's doorbell is lost.
  const held = (await state.read(3003, b.id))!;
  expect(await state.save(held, undefined, { kind: 'hold', wakeAt: new Date(clock + 3600_000).toISOString() }, receipt)).toBe(true);

  clock += 60_000;
  expect(await sweep()).toEqual({ due: 1, rungAgain: 0, oldestDueSeconds: 60 });
  clock += 200_000;
  rung.splice(0);
  expect(await sweep()).toMatchObject({ due: 1, rungAgain: 1 });
  expect(rung.map((d) => d.webhookId)).toEqual([a.id]);

  // A drains; only B's hold is left: the index waits for it.
  const drained = (await state.read(3003, a.id))!;
  expect(await state.save(drained, 'msg_a1.', { kind: 'clear' }, receipt)).toBe(true);
  await sweep();
  expect(await indexTime()).toBe(new Date(Date.UTC(2026, 0, 1) + 3600_000).toISOString());

  // C is written and its doorbell lost: found once overdue, not an hour later.
  rung.splice(0);
  await state.recordWrites(3003, [{ webhookId: c.id, deliveryId: 'msg_c1' }]);
  expect(rung.map((d) => d.webhookId)).toEqual([c.id]);
  rung.splice(0);
  clock += 250_000;
  expect(await sweep()).toMatchObject({ rungAgain: 1 });
  expect(rung.map((d) => d.webhookId)).toEqual([c.id]);
});

it("a deleted webhook's fields leave its account's backlog state", async () => {
  const { db, tableName, state, webhooks } = await setUp();
  const [kept, gone] = [webhookFixture({ accountId: 4004 }), webhookFixture({ accountId: 4004 })];
  for (const hook of [kept, gone]) await webhooks.create(hook, 5);
  await state.recordWrites(4004, [
    { webhookId: kept.id, deliveryId: 'msg_1' },
    { webhookId: gone.id, deliveryId: 'msg_2' },
  ]);
  await state.addReplay(4004, gone.id, 'rpl_1');

  await webhooks.delete(4004, gone.id);

  const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: backlogStateKey(4004), ConsistentRead: true }));
  expect(Object.keys(Item!).filter((name) => name.includes(gone.id))).toEqual([]);
  expect(await state.read(4004, kept.id)).toMatchObject({ seq: 1 });
});

it("a batch writes each webhook's deliveries in record order, different webhooks' in parallel", async () => {
  const { db, tableName, webhooks } = await setUp();
  const [first, second] = [webhookFixture({ accountId: 6006, events: ['COURSE_ENROLLMENT'] }), webhookFixture({ accountId: 6006, events: ['COURSE_COMPLETED'] })];
  for (const hook of [first, second]) await webhooks.create(hook, 5);
  const written: string[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  const router = new EventRouter({
    webhooks: new AccountWebhooksCache(webhooks),
    backlog: {
      // Earlier events take longer to write: only ordering by webhook keeps them first.
      write: async (input) => {
        peakInFlight = Math.max(peakInFlight, ++inFlight);
        const eventId = input.events[0]!.eventId;
        await new Promise((resolve) => setTimeout(resolve, 40 - 10 * Number(eventId.slice(-1))));
        written.push(`${input.webhook.id === first.id ? 'first' : 'second'}:${eventId}`);
        inFlight--;
        return { deliveryId: `msg_${eventId}`, duplicate: false, due: true };
      },
    },
    state: { recordWrites: async () => undefined },
    pending: new PendingStore(db, tableName),
    rejected: new RejectedEventStore(db, tableName),
    pins: new EventPins(db, tableName),
  });
  const records = [1, 2, 3].flatMap((n) => [
    { id: `a${n}`, body: busMessage(6006, 'COURSE_ENROLLMENT', `enrol-${n}`, 1_767_225_600_000 + n) },
    { id: `b${n}`, body: busMessage(6006, 'COURSE_COMPLETED', `done-${n}`, 1_767_225_600_000 + n) },
  ]);

  await Promise.all(router.routeBatch(records).values());

  expect(written.filter((w) => w.startsWith('first:'))).toEqual(['first:enrol-1', 'first:enrol-2', 'first:enrol-3']);
  expect(written.filter((w) => w.startsWith('second:'))).toEqual(['second:done-1', 'second:done-2', 'second:done-3']);
  expect(peakInFlight).toBe(2);
});
