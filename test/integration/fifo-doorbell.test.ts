import { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import { DeliveryStore } from '../../shared/deliveries/store';
import { answerDoorbells } from '../../functions/delivery/doorbells';
import type { LmsEvent } from '../../shared/events/envelope';
import type { AttemptOutcome, WebhookRequest } from '../../shared/dispatch/http-sender';
import { DeliveryWorker } from '../../shared/dispatch/worker';
import { newId } from '../../shared/ids';
import type { WebhookWithCredentials } from '../../shared/webhooks/model';
import { SimulatedFifoQueue } from './support/fifo-queue';
import { freshTable } from './support/table';

/**
 * A listener down for hours, against a queue that behaves like AWS's FIFO (10 messages of one group
 * per receive, receive counts that climb): with the backlog in DynamoDB and one doorbell per webhook,
 * nothing queued behind the failing head is received without being attempted, so nothing is
 * dead-lettered or left PENDING, and the events arrive once, in order, when the listener is back.
 * The real retry schedule (5 s … 300 s) runs on a simulated clock.
 */
it('a listener failing 40 times with 50 events queued behind the head: all 51 arrive once, in order', async () => {
  const { db, tableName } = await freshTable();
  let clock = Date.UTC(2026, 0, 1);
  const now = () => new Date(clock);
  const queue = new SimulatedFifoQueue(() => clock);
  const deliveries = new DeliveryStore(db, tableName, 30, now);
  const state = new BacklogStateStore(
    db,
    tableName,
    { ring: async (doorbell, deduplicationId) => queue.send(doorbell.webhookId, JSON.stringify(doorbell), deduplicationId) },
    async () => [],
    now,
  );
  const backlog = new DeliveryBacklog(deliveries, state, now);
  const hook: WebhookWithCredentials = {
    id: newId('wh'),
    accountId: 1010,
    name: 'down for hours',
    targetUrl: 'https://listener.example.com/',
    authType: 'NONE',
    events: ['COURSE_COMPLETED'],
    status: 'ACTIVE',
    createdAt: now().toISOString(),
    updatedAt: now().toISOString(),
    version: 1,
    credentials: {},
  };

  const received: string[] = [];
  let failures = 0;
  const send = async (request: WebhookRequest): Promise<AttemptOutcome> => {
    if (failures < 40) {
      failures++;
      return { ok: false, statusCode: 503, durationMs: 1, error: 'HTTP 503' };
    }
    received.push(...(JSON.parse(request.body) as { events: LmsEvent[] }).events.map((e) => e.eventId));
    return { ok: true, statusCode: 200, durationMs: 1 };
  };
  const deps = {
    drain: {
      deliveries,
      state,
      worker: new DeliveryWorker({
        deliveries,
        send,
        disableWebhook: async () => {
          throw new Error('the webhook must not be disabled within the retry window');
        },
        settings: { retryDelaysSeconds: [5, 10, 20, 40, 80, 160, 300], retryWindowSeconds: 7 * 24 * 3600, allowPrivateTargets: false },
        now,
      }),
      readWebhookAndState: async () => {
        const stored = await state.read(hook.accountId, hook.id);
        return { webhook: hook, ...(stored && { state: stored }) };
      },
      maxReceivesWithoutProgress: 10,
      now,
    },
    queue: {
      hold: async (receiptHandle: string, seconds: number) => queue.changeVisibility(receiptHandle, seconds),
      deadLetter: async () => {
        throw new Error('nothing may be dead-lettered');
      },
    },
    hasTime: () => true,
  };
  const event = (n: number): LmsEvent => ({ eventId: `evt-${n}`, eventName: 'COURSE_COMPLETED', timestamp: clock, eventInfo: `${clock}-0-0-0`, data: { n } });
  const put = async (n: number) => {
    await backlog.enqueue({ webhook: hook, events: [event(n)], kind: 'realtime', idempotencyKey: `event:evt-${n}`, arrivedAt: clock });
    clock += 1;
  };

  // The Lambda event source: receive, invoke, delete what succeeded; the clock jumps to the next visible message.
  const poll = async () => {
    const records = queue.receive();
    if (records.length === 0) {
      clock = Math.max(clock, queue.nextVisibleAt() ?? clock);
      return;
    }
    const { batchItemFailures } = await answerDoorbells(records, deps);
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    for (const r of records) if (!failed.has(r.messageId)) queue.delete(r.receiptHandle);
  };

  await put(0);
  await poll(); // The head fails: its doorbell is held for the retry.
  for (let n = 1; n <= 50; n++) await put(n); // Queued behind it, while it fails.
  for (let polls = 0; received.length < 51 && polls < 500; polls++) await poll();

  expect(failures).toBe(40);
  expect(received).toEqual(Array.from({ length: 51 }, (_, n) => `evt-${n}`));
  expect(queue.maxDepthPerGroup).toBe(1);
  expect(queue.depth(hook.id)).toBe(0);
  const pending = await deliveries.list(hook.id, { status: 'PENDING', limit: 100 });
  expect(pending.items).toEqual([]);
  // Nearly 3 hours passed on the simulated clock: 5 + 10 + … + 160 s, then 34 waits of 300 s.
  expect(clock - Date.UTC(2026, 0, 1)).toBeGreaterThanOrEqual((315 + 34 * 300) * 1000);
});
