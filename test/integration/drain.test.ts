import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HealthCounters } from '../../shared/deliveries/health';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import type { Doorbell } from '../../shared/deliveries/model';
import { HeldDeliveries } from '../../shared/deliveries/held';
import { ReplayStore } from '../../shared/deliveries/replay';
import { DeliveryStore } from '../../shared/deliveries/store';
import { drainBacklog, type DrainDependencies } from '../../shared/dispatch/drain';
import type { LmsEvent } from '../../shared/events/envelope';
import { sendWebhook } from '../../shared/dispatch/http-sender';
import { DeliveryWorker, type WorkerSettings } from '../../shared/dispatch/worker';
import { newId } from '../../shared/ids';
import { generateSigningSecret } from '../../shared/signing';
import type { WebhookWithCredentials } from '../../shared/webhooks/model';
import { startListener, type TestListener } from './support/listener';
import { freshTable } from './support/table';

/**
 * The drain against DynamoDB Local and a real listener, with a doorbell queue that records what is
 * rung: order, holding on failure, giving up, skipping, crash loops, and the doorbell's life cycle.
 */
let listener: TestListener;
let db: DynamoDBDocumentClient;
let tableName: string;
let deliveries: DeliveryStore;
const rung: { doorbell: Doorbell; deduplicationId: string }[] = [];
let state: BacklogStateStore;
let backlog: DeliveryBacklog;

beforeAll(async () => {
  listener = await startListener();
  ({ db, tableName } = await freshTable());
  deliveries = new DeliveryStore(db, tableName, 30);
  state = new BacklogStateStore(db, tableName, {
    ring: async (doorbell, deduplicationId) => {
      rung.push({ doorbell, deduplicationId });
    },
  }, async () => []);
  backlog = new DeliveryBacklog(deliveries, state);
});
afterAll(async () => listener.close());
beforeEach(() => {
  listener.received.splice(0);
  rung.splice(0);
  listener.respond(() => ({ status: 202 }));
});

const settings: WorkerSettings = { retryDelaysSeconds: [5, 10, 300], retryWindowSeconds: 3600, allowPrivateTargets: true };

function webhook(overrides: Partial<WebhookWithCredentials> = {}): WebhookWithCredentials {
  const at = new Date().toISOString();
  return {
    id: newId('wh'),
    accountId: 1010,
    name: 'test',
    targetUrl: listener.url,
    authType: 'SIGNATURE',
    events: ['COURSE_COMPLETED'],
    status: 'ACTIVE',
    createdAt: at,
    updatedAt: at,
    version: 1,
    credentials: { signingSecrets: [{ secret: generateSigningSecret(), createdAt: at }] },
    ...overrides,
  };
}

const event = (n: number, timestamp = 1_767_225_600_000 + n): LmsEvent => ({
  eventId: `evt-${n}`,
  eventName: 'COURSE_COMPLETED',
  timestamp,
  eventInfo: `${timestamp}-000000-0-0`,
  data: { userId: n },
});

async function enqueue(hook: WebhookWithCredentials, ...events: LmsEvent[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of events) ids.push((await backlog.enqueue({ webhook: hook, events: [e], kind: 'realtime', idempotencyKey: `event:${e.eventId}`, arrivedAt: Date.now() })).deliveryId);
  return ids;
}

function drainer(hook: WebhookWithCredentials | undefined, disabled: string[] = [], lookup?: () => WebhookWithCredentials | undefined): DrainDependencies {
  let current = hook;
  return {
    deliveries,
    state,
    worker: new DeliveryWorker({
      send: sendWebhook,
      disableWebhook: async (_w, reason) => {
        disabled.push(reason);
        if (current) current = { ...current, status: 'DISABLED' };
      },
      settings,
    }),
    readWebhookAndState: async (accountId, webhookId) => {
      const found = lookup ? lookup() : current;
      const stored = await state.read(accountId, webhookId);
      return { ...(found && { webhook: found }), ...(stored && { state: stored }) };
    },
    maxReceivesWithoutProgress: 10,
  };
}

let messages = 0;
const receipt = (receiveCount = 1, messageId = `m-${++messages}`) => ({ messageId, receiveCount });
const doorbellOf = (hook: WebhookWithCredentials): Doorbell => ({ accountId: hook.accountId, webhookId: hook.id });
const sentIds = () => listener.received.map((r) => (JSON.parse(r.body) as { events: LmsEvent[] }).events[0]!.eventId);

describe('draining a webhook backlog', () => {
  it('sends the backlog in event-time order, signed, records each attempt in its delivery, and clears the doorbell', async () => {
    const hook = webhook();
    // Written out of order: the backlog is ordered by event time.
    const [third, first, second] = await enqueue(hook, event(3), event(1), event(2));
    expect(rung).toHaveLength(1);

    expect(await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true)).toEqual({ outcome: 'drained', attempted: 3 });
    expect(sentIds()).toEqual(['evt-1', 'evt-2', 'evt-3']);
    expect(listener.received.map((r) => r.headers['webhook-id'])).toEqual([first, second, third]);
    const secret = hook.credentials.signingSecrets![0]!.secret;
    for (const request of listener.received) expect(() => new StandardWebhook(secret).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
    expect(await deliveries.get(hook.id, first!)).toMatchObject({ status: 'SUCCEEDED', attemptCount: 1, attempts: [expect.objectContaining({ number: 1, statusCode: 202 })] });

    // Cleared: the next write rings again.
    expect((await state.read(hook.accountId, hook.id))?.rungAt).toBeUndefined();
    await enqueue(hook, event(4));
    expect(rung).toHaveLength(2);
  });

  it('stops at a failure, holding the doorbell until the retry is due, with the rest behind it unsent', async () => {
    const hook = webhook();
    const [head] = await enqueue(hook, event(1), event(2), event(3));
    listener.respond(() => ({ status: 429, headers: { 'retry-after': '120' } }));
    expect(await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true)).toMatchObject({ outcome: 'held', seconds: 120 });
    expect(sentIds()).toEqual(['evt-1']);
    expect(await deliveries.get(hook.id, head!)).toMatchObject({ status: 'PENDING', attemptCount: 1, nextAttemptAt: expect.any(String) });

    // A doorbell answered before the retry is due holds again, sending nothing.
    const early = await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    expect(early).toMatchObject({ outcome: 'held', attempted: 0 });
    expect(listener.received).toHaveLength(1);
    // While held, new writes do not ring: the doorbell is still out.
    await enqueue(hook, event(4));
    expect(rung).toHaveLength(1);
  });

  it('lets a late event with an older timestamp go next, and strands nothing written during a drain', async () => {
    const hook = webhook();
    await enqueue(hook, event(10), event(11));
    await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    // Older than everything already sent: the cursor moves back for it.
    await enqueue(hook, event(5));
    let wroteDuringDrain = false;
    const deps = drainer(hook);
    listener.respond(() => ({ status: 202 }));
    const sendingDeps: DrainDependencies = {
      ...deps,
      readWebhookAndState: async (...args) => {
        if (!wroteDuringDrain) {
          wroteDuringDrain = true;
          await enqueue(hook, event(12));
        }
        return deps.readWebhookAndState(...args);
      },
    };
    expect(await drainBacklog(sendingDeps, doorbellOf(hook), receipt(), () => true)).toMatchObject({ outcome: 'drained', attempted: 2 });
    expect(sentIds()).toEqual(['evt-10', 'evt-11', 'evt-5', 'evt-12']);
  });

  it('never passes over a late event written into the page being drained', async () => {
    const hook = webhook();
    await enqueue(hook, event(10), event(11), event(12));
    let late = false;
    const deps: DrainDependencies = {
      ...drainer(hook),
      pageSize: 2,
      worker: new DeliveryWorker({
        send: async (request, options) => {
          if (!late) {
            late = true;
            // Older than the page the drain has read: it sorts first, below where the drain will move its cursor.
            await enqueue(hook, event(5));
          }
          return sendWebhook(request, options);
        },
        disableWebhook: async () => undefined,
        settings,
      }),
    };
    expect(await drainBacklog(deps, doorbellOf(hook), receipt(), () => true)).toMatchObject({ outcome: 'drained', attempted: 4 });
    expect(sentIds()).toEqual(['evt-10', 'evt-11', 'evt-5', 'evt-12']);
  });

  it('gives up after the retry window, fails the delivery, disables the webhook and holds the rest', async () => {
    const hook = webhook();
    // The head arrived two hours ago: its one-hour window is over.
    const { deliveryId: head } = await backlog.enqueue({ webhook: hook, events: [event(1)], kind: 'realtime', idempotencyKey: 'event:evt-1', arrivedAt: Date.now() - 7200_000 });
    await enqueue(hook, event(2));
    listener.respond(() => ({ status: 503 }));
    const disabled: string[] = [];
    expect(await drainBacklog(drainer(hook, disabled), doorbellOf(hook), receipt(), () => true)).toMatchObject({ outcome: 'drained' });
    expect(await deliveries.get(hook.id, head)).toMatchObject({ status: 'FAILED', statusReason: expect.stringContaining('gave up') });
    expect(disabled).toHaveLength(1);
    expect(listener.received).toHaveLength(1);
    const [rest] = (await deliveries.list(hook.id, { status: 'HELD', limit: 10 })).items;
    expect(rest).toMatchObject({ status: 'HELD', statusReason: 'webhook is DISABLED: held until it is re-enabled' });
  });

  it('skips the backlog of an inactive or deleted webhook and holds that of a disabled one, without a request', async () => {
    for (const [hook, status, reason] of [
      [webhook({ status: 'INACTIVE' }), 'SKIPPED', 'webhook is INACTIVE'],
      [webhook({ status: 'DISABLED' }), 'HELD', 'webhook is DISABLED: held until it is re-enabled'],
    ] as const) {
      const [id] = await enqueue({ ...hook, status: 'ACTIVE' }, event(1));
      await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
      expect(await deliveries.get(hook.id, id!)).toMatchObject({ status, statusReason: reason });
    }
    const gone = webhook();
    const [id] = await enqueue(gone, event(1));
    await drainBacklog(drainer(undefined), doorbellOf(gone), receipt(), () => true);
    expect(await deliveries.get(gone.id, id!)).toMatchObject({ status: 'SKIPPED', statusReason: 'webhook was deleted' });
    expect(listener.received).toHaveLength(0);
  });

  it('sends the same event once however often it is written, and a finished delivery never again', async () => {
    const hook = webhook();
    await enqueue(hook, event(1));
    await enqueue(hook, event(1));
    await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    await enqueue(hook, event(1));
    await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    expect(sentIds()).toEqual(['evt-1']);
  });

  it('fails the head of a backlog whose drain keeps dying, from progress in DynamoDB, and sends the rest', async () => {
    const hook = webhook();
    const [head] = await enqueue(hook, event(1), event(2));
    // The 11th receive of one doorbell with no progress recorded by any of them.
    expect(await drainBacklog(drainer(hook), doorbellOf(hook), receipt(11, 'crashing'), () => true)).toMatchObject({ outcome: 'drained', attempted: 1 });
    expect(await deliveries.get(hook.id, head!)).toMatchObject({ status: 'FAILED', statusReason: expect.stringContaining('stopped 11 times') });
    expect(sentIds()).toEqual(['evt-2']);
  });

  it('does not count receives that recorded progress, such as holds for retries', async () => {
    const hook = webhook();
    await enqueue(hook, event(1));
    listener.respond(() => ({ status: 500 }));
    for (let n = 1; n <= 12; n++) {
      const deps = { ...drainer(hook), now: () => new Date(Date.now() + n * 400_000) };
      deps.worker = new DeliveryWorker({ send: sendWebhook, disableWebhook: async () => undefined, settings: { ...settings, retryWindowSeconds: 86_400 }, now: deps.now });
      expect((await drainBacklog(deps, doorbellOf(hook), receipt(n, 'held'), () => true)).outcome).toBe('held');
    }
    expect(listener.received).toHaveLength(12);
  });

  it('reads on past a page that 1 MB cut short of its limit, and clears the doorbell only at the end', async () => {
    const hook = webhook();
    // 80 deliveries of ~30 KB: DynamoDB stops each Query at 1 MB, about 33 of them, well short of the 50 asked for.
    const padding = 'x'.repeat(30 * 1024);
    const events = Array.from({ length: 80 }, (_, n) => ({ ...event(n + 1), data: { userId: n + 1, padding } }));
    await enqueue(hook, ...events);

    expect(await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true)).toEqual({ outcome: 'drained', attempted: 80 });
    expect(sentIds()).toEqual(events.map((e) => e.eventId));
    expect((await state.read(hook.accountId, hook.id))?.rungAt).toBeUndefined();
  });

  it('hands the doorbell back when time runs out, and the next drain resumes where it stopped', async () => {
    const hook = webhook();
    await enqueue(hook, event(1), event(2), event(3));
    let budget = 2;
    expect(await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => budget-- > 0)).toEqual({ outcome: 'handed-back', attempted: 2 });
    expect(await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true)).toEqual({ outcome: 'drained', attempted: 1 });
    expect(sentIds()).toEqual(['evt-1', 'evt-2', 'evt-3']);
  });

  it('redelivers a stuck PENDING delivery by ringing again, and a finished one with a fresh window', async () => {
    const hook = webhook();
    const [id] = await enqueue(hook, event(1));
    // The doorbell was lost: redeliver rings even though the state says it is out.
    const stuck = (await deliveries.get(hook.id, id!))!;
    await backlog.redeliver(stuck);
    expect(rung).toHaveLength(2);
    await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    const done = (await deliveries.get(hook.id, id!))!;
    expect(done.status).toBe('SUCCEEDED');
    await backlog.redeliver(done);
    await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    expect(listener.received.map((r) => r.headers['webhook-id'])).toEqual([id, id]);
    expect(await deliveries.get(hook.id, id!)).toMatchObject({ status: 'SUCCEEDED', attemptCount: 2, redeliveries: 2 });
  });

  it('counts the log lifetime afresh on every attempt and redeliver, so a delivery still retried never expires', async () => {
    const hook = webhook();
    const day = 24 * 3600 * 1000;
    const start = Date.UTC(2026, 0, 1);
    const at = (ms: number) => new DeliveryStore(db, tableName, 30, () => new Date(ms));
    const expiresAt = async (id: string) =>
      Number((await db.send(new GetCommand({ TableName: tableName, Key: { pk: `WEBHOOK#${hook.id}`, sk: `DELIVERY#${id}` } }))).Item?.expiresAt);
    const [id] = await enqueue(hook, event(1));
    const created = (await deliveries.get(hook.id, id!))!;
    await db.send(new PutCommand({ TableName: tableName, Item: at(start).toItem(created) }));
    expect(await expiresAt(id!)).toBe((start + 30 * day) / 1000);

    const retried = await at(start + 10 * day).recordAttempt(created, { number: 1, at: new Date(start + 10 * day).toISOString(), durationMs: 1, statusCode: 500 }, { status: 'FAILED' });
    expect(await expiresAt(id!)).toBe((start + 40 * day) / 1000);
    await at(start + 20 * day).requeue(retried);
    expect(await expiresAt(id!)).toBe((start + 50 * day) / 1000);
  });

  it('sends Basic credentials when the webhook uses Basic auth', async () => {
    const hook = webhook({ authType: 'BASIC', credentials: { basic: { username: 'lms', password: 's3cret' } } });
    await enqueue(hook, event(1));
    await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    const [request] = await listener.waitFor(1);
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from('lms:s3cret').toString('base64')}`);
    expect(request!.headers['webhook-signature']).toBeUndefined();
  });

  it('queues the rest of a replay that its request did not finish, a page at a time whenever the backlog runs dry, in order', async () => {
    const hook = webhook();
    const events = Array.from({ length: 130 }, (_, i) => event(1000 + i));
    await enqueue(hook, ...events);
    await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    listener.received.splice(0);

    const replays = new ReplayStore(db, tableName, deliveries, state, 30);
    const range = { since: new Date(events[0]!.timestamp).toISOString(), until: new Date(events[129]!.timestamp).toISOString(), statuses: ['SUCCEEDED'] as const };
    const { replay } = await replays.create(hook, range, range.until);
    // The request ran out of its budget before queuing anything: the drain takes over.
    expect((await replays.queueMore(replay, () => false)).replay.queued).toBe(0);
    await replays.handToDrain(replay);
    expect((await state.read(hook.accountId, hook.id))?.replaysQueuing).toEqual([replay.replayId]);

    expect(await drainBacklog({ ...drainer(hook), replays }, doorbellOf(hook), receipt(), () => true)).toMatchObject({ outcome: 'drained', attempted: 130 });
    expect(sentIds()).toEqual(events.map((e) => e.eventId));
    // Every copy's end is counted in the replay's progress, though its record went out in a batch.
    expect(await replays.get(hook.id, replay.replayId)).toMatchObject({ queued: 130, sent: 130, failed: 0 });
    expect((await replays.get(hook.id, replay.replayId))?.readAfter).toBeUndefined();
    expect((await state.read(hook.accountId, hook.id))?.replaysQueuing).toBeUndefined();
  });

  it('records a page of successes 25 at a time and counts their health once per flush', async () => {
    const hook = webhook();
    const events = Array.from({ length: 60 }, (_, i) => event(2000 + i));
    const ids = await enqueue(hook, ...events);
    // Every DynamoDB call of the drain, by operation and item kind.
    const calls = new Map<string, number>();
    const counted = {
      send: async (command: { constructor: { name: string }; input: { Key?: { sk?: string } } }) => {
        // By the key's item kind; Query and BatchWrite here touch only deliveries.
        const kind = command.input.Key?.sk?.split('#')[0];
        const name = [command.constructor.name.replace(/Command$/, ''), kind].filter(Boolean).join(' ');
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return db.send(command as PutCommand);
      },
    } as unknown as DynamoDBDocumentClient;
    // Mid-hour: the flushes all count into one hour's slot.
    const midHour = new Date(Date.UTC(2026, 10, 30, 10, 30));
    const health = new HealthCounters(counted, tableName);
    const deps: DrainDependencies = {
      ...drainer(hook),
      deliveries: new DeliveryStore(counted, tableName, 30),
      state: new BacklogStateStore(counted, tableName, { ring: async () => undefined }, async () => []),
      worker: new DeliveryWorker({ send: sendWebhook, disableWebhook: async () => undefined, settings, now: () => midHour }),
      health,
    };

    expect(await drainBacklog(deps, doorbellOf(hook), receipt(), () => true)).toEqual({ outcome: 'drained', attempted: 60 });
    const drainCalls = Object.fromEntries(calls);
    expect(sentIds()).toEqual(events.map((e) => e.eventId));
    for (const id of ids) expect(await deliveries.get(hook.id, id)).toMatchObject({ status: 'SUCCEEDED', attemptCount: 1, attempts: [{ number: 1, statusCode: 202 }] });
    expect(await health.read(hook.id, midHour)).toMatchObject({ attempts24h: 60, succeeded24h: 60 });

    // Two pages (50, then the short one of 10): BatchWriteItem at 25, 50 and the page's end; one
    // health update per flush, and one more as the first count of the hour starts its slot.
    expect(drainCalls).toEqual({ Query: 2, BatchWrite: 3, 'Update HEALTH': 4, 'Update BACKLOG': 2 });
  });

  it('records what it sent before an error goes up, so the next drain sends only the rest', async () => {
    const hook = webhook();
    const ids = await enqueue(hook, event(1), event(2), event(3));
    let sends = 0;
    const deps: DrainDependencies = {
      ...drainer(hook),
      worker: new DeliveryWorker({
        send: async (request, options) => {
          if (++sends === 3) throw new Error('the function is out of memory');
          return sendWebhook(request, options);
        },
        disableWebhook: async () => undefined,
        settings,
      }),
    };
    await expect(drainBacklog(deps, doorbellOf(hook), receipt(), () => true)).rejects.toThrow('out of memory');
    expect((await Promise.all(ids.map((id) => deliveries.get(hook.id, id)))).map((d) => d?.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'PENDING']);

    await drainBacklog(drainer(hook), doorbellOf(hook), receipt(), () => true);
    expect(sentIds()).toEqual(['evt-1', 'evt-2', 'evt-3']);
  });

  it('releases held deliveries still within the retry window, in order, and skips older ones with the reason', async () => {
    const hook = webhook({ status: 'DISABLED' });
    const held = new HeldDeliveries(db, tableName, 30);
    const unsent = { status: 'HELD' as const, reason: 'webhook is DISABLED: held until it is re-enabled' };
    const hold = (n: number, arrivedAt: number) => backlog.enqueue({ webhook: hook, events: [event(n)], kind: 'realtime', idempotencyKey: `event:evt-${n}`, arrivedAt, unsent });
    const { deliveryId: stale } = await hold(1, Date.now() - 7200_000);
    const { deliveryId: recent } = await hold(2, Date.now() - 60_000);
    expect(await held.summary(hook.id)).toEqual({ heldDeliveries: 2, oldestHeldEventAt: new Date(event(1).timestamp).toISOString() });
    expect(rung).toEqual([]);

    expect(await held.release(hook.id, { windowSeconds: 3600, discard: false })).toEqual({ released: 1, skipped: 1, firstReleasedId: recent });
    expect(await deliveries.get(hook.id, stale)).toMatchObject({ status: 'SKIPPED', statusReason: expect.stringContaining('held longer than the retry window') });
    expect(await deliveries.get(hook.id, recent)).toMatchObject({ status: 'PENDING' });
    expect(await held.summary(hook.id)).toEqual({ heldDeliveries: 0 });
  });
});
