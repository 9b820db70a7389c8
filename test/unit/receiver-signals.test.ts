import type { Attempt, Delivery } from '../../shared/deliveries/model';
import type { AttemptOutcomeChange } from '../../shared/deliveries/store';
import type { AttemptOutcome } from '../../shared/dispatch/http-sender';
import type { DeliveryOutcomes } from '../../shared/dispatch/outcome-recorder';
import { DeliveryWorker } from '../../shared/dispatch/worker';
import type { Webhook, WebhookWithCredentials } from '../../shared/webhooks/model';

/** What the worker does with a listener's signals: 410 Gone, and failing for half of the retry window. */
const WINDOW_SECONDS = 1000;
const arrivedAt = Date.parse('2026-11-30T00:00:00.000Z');

const webhook: WebhookWithCredentials = {
  id: 'wh_1',
  accountId: 1010,
  name: 'HR',
  targetUrl: 'https://hr.example/hook',
  authType: 'NONE',
  events: ['COURSE_COMPLETED'],
  status: 'ACTIVE',
  createdAt: '2026-11-29T00:00:00.000Z',
  updatedAt: '2026-11-29T00:00:00.000Z',
  version: 1,
  credentials: {},
};

function delivery(): Delivery {
  return {
    id: 'msg_1',
    webhookId: webhook.id,
    accountId: webhook.accountId,
    kind: 'realtime',
    status: 'PENDING',
    events: [{ eventId: 'e1', eventName: 'COURSE_COMPLETED', timestamp: arrivedAt, eventInfo: '', data: {} }],
    attemptCount: 0,
    attempts: [],
    firstArrivedAt: arrivedAt,
    createdAt: new Date(arrivedAt).toISOString(),
    updatedAt: new Date(arrivedAt).toISOString(),
    redeliveries: 0,
  };
}

function harness(answer: AttemptOutcome) {
  let clock = arrivedAt;
  const recorded: AttemptOutcomeChange[] = [];
  const disabled: string[] = [];
  const failing: { deliveryId: string; disablesAt: string }[] = [];
  const outcomes: DeliveryOutcomes = {
    recordAttempt: async (d: Delivery, attempt: Attempt, next: AttemptOutcomeChange) => {
      recorded.push(next);
      return { ...d, status: next.status, attemptCount: attempt.number, attempts: [...d.attempts, attempt] };
    },
    finishUnsent: async () => undefined,
  };
  const worker = new DeliveryWorker({
    send: async () => answer,
    disableWebhook: async (_w: Webhook, reason: string) => void disabled.push(reason),
    announceFailing: async (_w, d, notice) => void failing.push({ deliveryId: d.id, disablesAt: notice.disablesAt }),
    settings: { retryDelaysSeconds: [100], retryWindowSeconds: WINDOW_SECONDS, allowPrivateTargets: false },
    now: () => new Date(clock),
  });
  return { attempt: (d: Delivery) => worker.attempt(webhook, d, outcomes), recorded, disabled, failing, at: (ms: number) => (clock = arrivedAt + ms) };
}

it('410 Gone fails the delivery and disables the webhook at once, with that reason', async () => {
  const h = harness({ ok: false, statusCode: 410, durationMs: 3, error: 'HTTP 410' });
  const result = await h.attempt(delivery());
  expect(result).toMatchObject({ action: 'done', disabledWebhook: true });
  expect(h.recorded).toEqual([{ status: 'FAILED', statusReason: 'the listener answered 410 Gone' }]);
  expect(h.disabled).toEqual(['delivery msg_1 failed: the listener answered 410 Gone']);
});

it('announces WEBHOOK_FAILING once, at the first attempt at or past half of the retry window', async () => {
  const h = harness({ ok: false, statusCode: 503, durationMs: 3, error: 'HTTP 503' });
  let current = delivery();
  for (const ms of [0, 100_000, 400_000, 500_000, 600_000, 700_000]) {
    h.at(ms);
    const before = current;
    await h.attempt(before);
    current = { ...before, attemptCount: before.attemptCount + 1, attempts: [...before.attempts, { number: before.attemptCount + 1, at: new Date(arrivedAt + ms).toISOString(), durationMs: 3 }] };
  }
  expect(h.failing).toEqual([{ deliveryId: 'msg_1', disablesAt: new Date(arrivedAt + WINDOW_SECONDS * 1000).toISOString() }]);
  expect(h.disabled).toEqual([]);
});

it('a 503 with Retry-After is retried, not given up', async () => {
  const h = harness({ ok: false, statusCode: 503, durationMs: 3, error: 'HTTP 503', retryAfterSeconds: 200 });
  expect(await h.attempt(delivery())).toMatchObject({ action: 'retry', delaySeconds: 100 });
});
