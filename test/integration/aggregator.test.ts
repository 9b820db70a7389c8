import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { flushDueWebhooks, type AggregatorDependencies, type ScheduledFlush } from '../../shared/batch/aggregator';
import { PendingStore } from '../../shared/batch/pending-store';
import type { DeliveryBacklog } from '../../shared/deliveries/backlog';
import { envelopeBody, type LmsEvent } from '../../shared/events/envelope';
import type { Webhook } from '../../shared/webhooks/model';
import { batchEvent, freshTable, webhookFixture, WRITE_COMMANDS } from './support/batch';

/**
 * The flush core against DynamoDB Local, with a backlog that records what it is given: what the
 * delivery path receives, in which order, and what stays pending when something fails.
 */
type Enqueued = Parameters<DeliveryBacklog['enqueue']>[0];

let db: DynamoDBDocumentClient;
let tableName: string;
let calls: { name: string }[];

beforeAll(async () => {
  ({ db, tableName, calls } = await freshTable());
});

class RecordingBacklog {
  readonly enqueued: Enqueued[] = [];
  private readonly keys = new Set<string>();
  failAfter = Infinity;
  /** Refuses chunks holding this event the way DynamoDB refuses an item it cannot store. */
  refuseEventId?: string;

  async enqueue(input: Enqueued): Promise<{ deliveryId: string; duplicate: boolean }> {
    if (this.enqueued.length >= this.failAfter) throw new Error('queue unavailable');
    if (input.unsent === undefined && input.events.some((e) => e.eventId === this.refuseEventId)) {
      throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' });
    }
    const duplicate = this.keys.has(`${input.webhook.id}/${input.idempotencyKey}`);
    this.keys.add(`${input.webhook.id}/${input.idempotencyKey}`);
    if (!duplicate) this.enqueued.push(input);
    return { deliveryId: `msg_${this.enqueued.length}`, duplicate };
  }

  eventIdsFor(webhookId: string): string[][] {
    return this.enqueued.filter((e) => e.webhook.id === webhookId).map((e) => e.events.map((event) => event.eventId));
  }
}

interface Harness {
  readonly store: PendingStore;
  readonly backlog: RecordingBacklog;
  readonly webhooks: Map<string, Webhook>;
  readonly continuations: ScheduledFlush[];
  deps(overrides?: Partial<AggregatorDependencies>): AggregatorDependencies;
}

function harness(): Harness {
  const store = new PendingStore(db, tableName);
  const backlog = new RecordingBacklog();
  const webhooks = new Map<string, Webhook>();
  const continuations: ScheduledFlush[] = [];
  return {
    store,
    backlog,
    webhooks,
    continuations,
    deps: (overrides = {}) => ({
      store,
      backlog,
      webhooks: { get: async (_accountId, id) => webhooks.get(id) },
      scheduleExpression: 'rate(15 minutes)',
      maxEvents: 100,
      // The flush runs a minute after the events arrived: the burst has settled.
      now: () => Date.now() + 60_000,
      continueLater: async (next) => {
        continuations.push(next);
      },
      ...overrides,
    }),
  };
}

let runs = 0;
function invocation(overrides: Partial<Parameters<typeof flushDueWebhooks>[1]> = {}) {
  return { runId: `run-${++runs}`, firedAt: Date.now(), generation: 0, remainingMs: 300_000, ...overrides };
}

async function addAll(h: Harness, webhook: Webhook, events: LmsEvent[]): Promise<void> {
  h.webhooks.set(webhook.id, webhook);
  for (const event of events) await h.store.add(webhook, event);
}

async function pendingIds(h: Harness, webhookId: string): Promise<string[]> {
  return (await h.store.read(webhookId, { limit: 1000 })).items.map((p) => p.event.eventId);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => batchEvent(from + i));

async function drainDue(h: Harness): Promise<void> {
  // Other tests' webhooks share the table: clear them so each test sees only its own.
  await flushDueWebhooks(h.deps({ webhooks: { get: async () => undefined } }), invocation());
}

describe('a scheduled flush', () => {
  it('sends a backlog of 250 events as 100 + 100 + 50, in timestamp order, and empties the store', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    const events = range(1, 250).reverse();
    await addAll(h, webhook, events);

    const report = await flushDueWebhooks(h.deps(), invocation());

    const chunks = h.backlog.eventIdsFor(webhook.id);
    expect(chunks.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunks.flat()).toEqual(range(1, 250).map((e) => e.eventId));
    expect(h.backlog.enqueued.every((e) => e.kind === 'batch' && e.webhook === webhook)).toBe(true);
    expect(report).toMatchObject({ flushedEvents: 250, requests: 3, unfinished: false, continued: false });
    expect(await pendingIds(h, webhook.id)).toEqual([]);
    expect((await h.store.dueWebhooks()).map((d) => d.webhookId)).not.toContain(webhook.id);
  });

  it('holds back a trailing part-full request while its burst is still arriving, and sends it once settled', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 250));

    // The schedule fires while the events are still arriving (rate(2 seconds): they are younger than 2 s).
    const early = await flushDueWebhooks(h.deps({ scheduleExpression: 'rate(2 seconds)', now: () => Date.now() }), invocation());
    expect(h.backlog.eventIdsFor(webhook.id).map((c) => c.length)).toEqual([100, 100]);
    expect(early).toMatchObject({ flushedEvents: 200, unfinished: false, continued: false });
    expect(await pendingIds(h, webhook.id)).toHaveLength(50);
    expect((await h.store.dueWebhooks()).map((d) => d.webhookId)).toContain(webhook.id);

    // The next tick, the burst has settled: the rest goes as one request, in order.
    await flushDueWebhooks(h.deps({ scheduleExpression: 'rate(2 seconds)', now: () => Date.now() + 2500 }), invocation());
    expect(h.backlog.eventIdsFor(webhook.id).map((c) => c.length)).toEqual([100, 100, 50]);
    expect(h.backlog.eventIdsFor(webhook.id).flat()).toEqual(range(1, 250).map((e) => e.eventId));
    expect(await pendingIds(h, webhook.id)).toEqual([]);
  });

  it('keeps each envelope within 256 KB and sends an oversized event alone, without stopping the flush', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    const big = (n: number, kb: number) => batchEvent(n, { data: { ...batchEvent(n).data, note: 'x'.repeat(kb * 1024) } });
    const events = [big(1, 100), big(2, 100), big(3, 100), big(4, 300), batchEvent(5), batchEvent(6)];
    await addAll(h, webhook, events);

    await flushDueWebhooks(h.deps(), invocation());

    expect(h.backlog.eventIdsFor(webhook.id)).toEqual([['evt-1', 'evt-2'], ['evt-3'], ['evt-4'], ['evt-5', 'evt-6']]);
    for (const { events: chunk } of h.backlog.enqueued.filter((e) => e.events.length > 1)) {
      expect(Buffer.byteLength(envelopeBody(webhook.accountId, chunk))).toBeLessThanOrEqual(256 * 1024);
    }
    expect(await pendingIds(h, webhook.id)).toEqual([]);
  });

  it('honours BATCH_MAX_EVENTS and packs across page boundaries', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 23));

    await flushDueWebhooks(h.deps({ maxEvents: 10, pageSize: 7 }), invocation());

    expect(h.backlog.eventIdsFor(webhook.id).map((c) => c.length)).toEqual([10, 10, 3]);
    expect(h.backlog.eventIdsFor(webhook.id).flat()).toEqual(range(1, 23).map((e) => e.eventId));
  });

  it('logs the events of a webhook inactive at the flush as SKIPPED, holds those of a disabled one, and forgets those of a deleted one', async () => {
    const h = harness();
    await drainDue(h);
    const inactive = webhookFixture();
    const disabled = webhookFixture();
    const deleted = webhookFixture();
    await addAll(h, inactive, range(1, 5));
    await addAll(h, disabled, range(1, 5));
    await addAll(h, deleted, range(1, 5));
    h.webhooks.set(inactive.id, { ...inactive, status: 'INACTIVE' });
    h.webhooks.set(disabled.id, { ...disabled, status: 'DISABLED', statusReason: 'failing' });
    h.webhooks.delete(deleted.id);

    const report = await flushDueWebhooks(h.deps(), invocation());

    expect(h.backlog.enqueued.map((e) => [e.webhook.id, e.events.length, e.unsent?.status])).toEqual(
      expect.arrayContaining([
        [inactive.id, 5, 'SKIPPED'],
        [disabled.id, 5, 'HELD'],
      ]),
    );
    expect(h.backlog.enqueued).toHaveLength(2);
    expect(report).toMatchObject({ skippedEvents: 10, droppedEvents: 5, flushedEvents: 0 });
    for (const webhook of [inactive, disabled, deleted]) expect(await pendingIds(h, webhook.id)).toEqual([]);
  });

  it('costs no writes when nothing is pending', async () => {
    const h = harness();
    await drainDue(h);
    const before = calls.length;

    const report = await flushDueWebhooks(h.deps(), invocation());

    expect(report).toMatchObject({ dueWebhooks: 0, requests: 0 });
    expect(calls.slice(before).filter((c) => WRITE_COMMANDS.includes(c.name))).toEqual([]);
  });

  it('flushes many webhooks in one run, each in its own order', async () => {
    const h = harness();
    await drainDue(h);
    const webhooks = Array.from({ length: 12 }, () => webhookFixture());
    await Promise.all(webhooks.map((w) => addAll(h, w, range(1, 15).reverse())));

    const report = await flushDueWebhooks(h.deps({ maxEvents: 4 }), invocation());

    expect(report).toMatchObject({ dueWebhooks: 12, flushedEvents: 180, requests: 48 });
    for (const webhook of webhooks) expect(h.backlog.eventIdsFor(webhook.id).flat()).toEqual(range(1, 15).map((e) => e.eventId));
  });
});

describe('faults', () => {
  it('leaves every event pending when the queue send fails, and sends them all on the next run', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 30));
    h.backlog.failAfter = 0;
    const failures: unknown[] = [];

    const failed = await flushDueWebhooks(h.deps({ maxEvents: 10, onWebhookFailure: (_id, error) => failures.push(error) }), invocation());

    expect(failed).toMatchObject({ failedWebhooks: 1, flushedEvents: 0 });
    expect(failures).toEqual([expect.objectContaining({ message: 'queue unavailable' })]);
    expect(await pendingIds(h, webhook.id)).toHaveLength(30);
    expect((await h.store.summary(webhook.id, 'rate(15 minutes)')).pendingBatchEvents).toBe(30);

    h.backlog.failAfter = Infinity;
    await flushDueWebhooks(h.deps({ maxEvents: 10 }), invocation());
    expect(h.backlog.eventIdsFor(webhook.id).flat()).toEqual(range(1, 30).map((e) => e.eventId));
    expect(await pendingIds(h, webhook.id)).toEqual([]);
  });

  it('logs a chunk DynamoDB will never store as FAILED with the reason, and flushes the rest behind it', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 30));
    h.backlog.refuseEventId = range(1, 30)[14]!.eventId;

    const report = await flushDueWebhooks(h.deps({ maxEvents: 10 }), invocation());

    expect(report).toMatchObject({ failedWebhooks: 0 });
    expect(h.backlog.enqueued.map((e) => e.unsent?.status)).toEqual([undefined, 'FAILED', undefined]);
    expect(h.backlog.enqueued[1]!.unsent?.reason).toMatch(/could not be stored \(Item size has exceeded/);
    expect(h.backlog.enqueued[1]!.events.every((e) => Object.keys(e.data).length === 0)).toBe(true);
    expect(h.backlog.eventIdsFor(webhook.id).flat()).toEqual(range(1, 30).map((e) => e.eventId));
    expect(await pendingIds(h, webhook.id)).toEqual([]);
  });

  it('keeps what was not yet enqueued when the queue fails mid-backlog, and goes on in order', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 30));
    h.backlog.failAfter = 1;

    await flushDueWebhooks(h.deps({ maxEvents: 10 }), invocation());
    expect(await pendingIds(h, webhook.id)).toEqual(range(11, 30).map((e) => e.eventId));

    h.backlog.failAfter = Infinity;
    await flushDueWebhooks(h.deps({ maxEvents: 10 }), invocation());
    expect(h.backlog.eventIdsFor(webhook.id).flat()).toEqual(range(1, 30).map((e) => e.eventId));
  });

  it('re-enqueues a chunk whose removal did not happen under the same idempotency key, so it is delivered once', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 10));
    const crashing = Object.create(h.store) as PendingStore;
    crashing.remove = async () => {
      throw new Error('crashed after enqueue');
    };

    await flushDueWebhooks(h.deps({ store: crashing }), invocation());
    expect(await pendingIds(h, webhook.id)).toHaveLength(10);
    await flushDueWebhooks(h.deps(), invocation());

    expect(h.backlog.eventIdsFor(webhook.id)).toEqual([range(1, 10).map((e) => e.eventId)]);
    expect(await pendingIds(h, webhook.id)).toEqual([]);
  });
});

describe('overlapping runs and continuation', () => {
  it('never sends an event twice when two runs overlap', async () => {
    const h = harness();
    await drainDue(h);
    const webhooks = Array.from({ length: 6 }, () => webhookFixture());
    await Promise.all(webhooks.map((w) => addAll(h, w, range(1, 40))));

    const reports = await Promise.all([
      flushDueWebhooks(h.deps({ maxEvents: 5, concurrency: 2 }), invocation()),
      flushDueWebhooks(h.deps({ maxEvents: 5, concurrency: 2 }), invocation()),
    ]);

    const sent = h.backlog.enqueued.flatMap((e) => e.events.map((event) => `${e.webhook.id}/${event.eventId}`));
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent).toHaveLength(240);
    expect(reports[0]!.flushedEvents + reports[1]!.flushedEvents).toBe(240);
    for (const webhook of webhooks) expect(h.backlog.eventIdsFor(webhook.id).flat()).toEqual(range(1, 40).map((e) => e.eventId));
  });

  it('stops before its time is up and hands the rest to a continuation run, which finishes in order', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 50));
    // Each enqueue takes a simulated 10 s of a 100 s invocation.
    let clock = 1_000_000;
    const slowBacklog = {
      enqueue: async (input: Enqueued) => {
        clock += 10_000;
        return h.backlog.enqueue(input);
      },
    };
    const first = await flushDueWebhooks(h.deps({ backlog: slowBacklog, maxEvents: 5, now: () => clock }), invocation({ remainingMs: 100_000, firedAt: 42 }));

    expect(first).toMatchObject({ unfinished: true, continued: true });
    expect(first.flushedEvents).toBeLessThan(50);
    expect(h.continuations).toEqual([{ firedAt: 42, generation: 1 }]);
    expect(await pendingIds(h, webhook.id)).toHaveLength(50 - first.flushedEvents);

    const second = await flushDueWebhooks(h.deps({ maxEvents: 5 }), invocation({ ...h.continuations[0]! }));
    expect(second).toMatchObject({ unfinished: false, continued: false });
    expect(h.backlog.eventIdsFor(webhook.id).flat()).toEqual(range(1, 50).map((e) => e.eventId));
  });

  it('does not continue a run that made no progress', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 5));
    const report = await flushDueWebhooks(h.deps(), invocation({ remainingMs: 0 }));
    expect(report).toMatchObject({ unfinished: true, continued: false });
    expect(await pendingIds(h, webhook.id)).toHaveLength(5);
  });
});

describe('the next flush', () => {
  it('is anchored on the last run that had work, for rate schedules', async () => {
    const h = harness();
    await drainDue(h);
    const webhook = webhookFixture();
    await addAll(h, webhook, range(1, 1));
    const firedAt = Date.now() - 60_000;
    await flushDueWebhooks(h.deps(), invocation({ firedAt }));
    expect((await h.store.summary(webhook.id, 'rate(15 minutes)')).nextBatchFlushAt).toBe(new Date(firedAt + 15 * 60_000).toISOString());
  });
});
