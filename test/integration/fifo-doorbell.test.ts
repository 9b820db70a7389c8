import { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import { DeliveryStore } from '../../shared/deliveries/store';
import { answerDoorbells } from '../../functions/delivery/doorbells';
import type { LmsEvent } from '../../shared/events/envelope';
import type { AttemptOutcome, WebhookRequest } from '../../shared/dispatch/http-sender';
import { DeliveryWorker } from '../../shared/dispatch/worker';
import { newId } from '../../shared/ids';
import type { WebhookWithCredentials } from '../../shared/webhooks/model';
import type { SQSRecord } from 'aws-lambda';
import { SimulatedFifoQueue } from './support/fifo-queue';
import { freshTable } from './support/table';
import { eventually } from './support/eventually';

/**
 * A listener down for hours, against a queue that behaves like AWS's FIFO (10 messages of one group
 * per receive, receive counts that climb): with the backlog in DynamoDB and one doorbell per webhook,
 * nothing queued behind the failing head is received without being attempted, so nothing is
 * dead-lettered or left PENDING, and the events arrive once, in order, when the listener is back.
 * The real retry schedule (5 s … 300 s) runs on a simulated clock.
 */
/** DynamoDB Local, the simulated FIFO queue and the real drain, on a clock the test moves; `send` is every webhook's listener. */
async function harness(send: (request: WebhookRequest) => Promise<AttemptOutcome>) {
  const { db, tableName } = await freshTable();
  const start = Date.UTC(2026, 0, 1);
  const clock = { now: start };
  const now = () => new Date(clock.now);
  const queue = new SimulatedFifoQueue(() => clock.now);
  const deliveries = new DeliveryStore(db, tableName, 30, now);
  const state = new BacklogStateStore(
    db,
    tableName,
    { ring: async (doorbell, deduplicationId) => queue.send(doorbell.webhookId, JSON.stringify(doorbell), deduplicationId) },
    async () => [],
    now,
  );
  const backlog = new DeliveryBacklog(deliveries, state, now);
  const hooks = new Map<string, WebhookWithCredentials>();
  const webhook = (name: string): WebhookWithCredentials => {
    const hook: WebhookWithCredentials = {
      id: newId('wh'),
      accountId: 1010,
      name,
      targetUrl: `https://${name.replaceAll(' ', '-')}.example.com/`,
      authType: 'NONE',
      events: ['COURSE_COMPLETED'],
      status: 'ACTIVE',
      createdAt: now().toISOString(),
      updatedAt: now().toISOString(),
      version: 1,
      credentials: {},
    };
    hooks.set(hook.id, hook);
    return hook;
  };
  const deps = {
    drain: {
      deliveries,
      state,
      worker: new DeliveryWorker({
        send,
        disableWebhook: async () => {
          throw new Error('the webhook must not be disabled within the retry window');
        },
        settings: { retryDelaysSeconds: [5, 10, 20, 40, 80, 160, 300], retryWindowSeconds: 7 * 24 * 3600, allowPrivateTargets: false },
        now,
      }),
      readWebhookAndState: async (accountId: number, webhookId: string) => {
        const stored = await state.read(accountId, webhookId);
        return { webhook: hooks.get(webhookId), ...(stored && { state: stored }) };
      },
      maxReceivesWithoutProgress: 10,
      now,
    },
    queue: {
      hold: async (receiptHandle: string, seconds: number) => queue.changeVisibility(receiptHandle, seconds),
      delete: async (receiptHandle: string) => queue.delete(receiptHandle),
      deadLetter: async () => {
        throw new Error('nothing may be dead-lettered');
      },
    },
    hasTime: () => true,
  };
  const put = async (hook: WebhookWithCredentials, n: number) => {
    const event: LmsEvent = { eventId: `evt-${n}`, eventName: 'COURSE_COMPLETED', timestamp: clock.now, eventInfo: `${clock.now}-0-0-0`, data: { n } };
    await backlog.enqueue({ webhook: hook, events: [event], kind: 'realtime', idempotencyKey: `event:${hook.id}:evt-${n}`, arrivedAt: clock.now });
    clock.now += 1;
  };
  /** One invocation as Lambda's event source runs it: the handler, then the deletes of what succeeded. */
  const invoke = async (records: SQSRecord[]) => {
    const { batchItemFailures } = await answerDoorbells(records, deps);
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    for (const r of records) if (!failed.has(r.messageId)) queue.delete(r.receiptHandle);
  };
  return { start, clock, queue, deliveries, webhook, put, invoke };
}

const eventIds = (request: WebhookRequest) => (JSON.parse(request.body) as { events: LmsEvent[] }).events.map((e) => e.eventId);

it('a listener failing 40 times with 50 events queued behind the head: all 51 arrive once, in order', async () => {
  const received: string[] = [];
  let failures = 0;
  const { start, clock, queue, deliveries, webhook, put, invoke } = await harness(async (request) => {
    if (failures < 40) {
      failures++;
      return { ok: false, statusCode: 503, durationMs: 1, error: 'HTTP 503' };
    }
    received.push(...eventIds(request));
    return { ok: true, statusCode: 200, durationMs: 1 };
  });
  const hook = webhook('down for hours');

  // The Lambda event source: receive, invoke, delete what succeeded; the clock jumps to the next visible message.
  const poll = async () => {
    const records = queue.receive();
    if (records.length === 0) {
      clock.now = Math.max(clock.now, queue.nextVisibleAt() ?? clock.now);
      return;
    }
    await invoke(records);
  };

  await put(hook, 0);
  await poll(); // The head fails: its doorbell is held for the retry.
  for (let n = 1; n <= 50; n++) await put(hook, n); // Queued behind it, while it fails.
  for (let polls = 0; received.length < 51 && polls < 500; polls++) await poll();

  expect(failures).toBe(40);
  expect(received).toEqual(Array.from({ length: 51 }, (_, n) => `evt-${n}`));
  expect(queue.maxDepthPerGroup).toBe(1);
  expect(queue.depth(hook.id)).toBe(0);
  const pending = await deliveries.list(hook.id, { status: 'PENDING', limit: 100 });
  expect(pending.items).toEqual([]);
  // Nearly 3 hours passed on the simulated clock: 5 + 10 + … + 160 s, then 34 waits of 300 s.
  expect(clock.now - start).toBeGreaterThanOrEqual((315 + 34 * 300) * 1000);
});

it('one slow webhook in a batch does not hold back the next event of another: a drained doorbell is deleted at once', async () => {
  const fastReceived: string[] = [];
  let slowListenerAnswers!: () => void;
  const slowAnswer = new Promise<void>((resolve) => (slowListenerAnswers = resolve));
  const { queue, webhook, put, invoke } = await harness(async (request) => {
    if (request.url.includes('slow')) await slowAnswer;
    else fastReceived.push(...eventIds(request));
    return { ok: true, statusCode: 200, durationMs: 1 };
  });
  const slow = webhook('slow');
  const fast = webhook('fast');
  await put(slow, 1);
  await put(fast, 1);

  // One invocation with both doorbells (Lambda may batch several groups); the slow listener hangs.
  const batch = invoke([...queue.receive(), ...queue.receive()]);
  try {
    await eventually(async () => fastReceived, (ids) => ids.length === 1);
    await put(fast, 2);
    // The fast webhook's new doorbell is received and drained while the slow drain still runs.
    const next = queue.receive();
    expect(next.map((r) => JSON.parse(r.body).webhookId)).toEqual([fast.id]);
    await invoke(next);
    expect(fastReceived).toEqual(['evt-1', 'evt-2']);
  } finally {
    slowListenerAnswers();
    await batch;
  }
  expect(queue.depth(slow.id) + queue.depth(fast.id)).toBe(0);
});
