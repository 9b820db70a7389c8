import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { Delivery } from '../../shared/deliveries/model';
import { DeliveryRepository } from '../../shared/deliveries/repository';
import { sendWebhook } from '../../shared/delivery/http-sender';
import { DeliveryWorker, type WorkerSettings } from '../../shared/delivery/worker';
import { newId } from '../../shared/ids';
import { generateSigningSecret } from '../../shared/signing';
import type { Webhook, WebhookWithCredentials } from '../../shared/webhooks/model';
import { startListener, type TestListener } from './support/listener';
import { freshTable } from './support/table';

let listener: TestListener;
let deliveries: DeliveryRepository;
beforeAll(async () => {
  listener = await startListener();
  const { db, tableName } = await freshTable();
  deliveries = new DeliveryRepository(db, tableName, 30);
});
afterAll(async () => listener.close());

const settings: WorkerSettings = { retryDelaysSeconds: [5, 10, 300], retryWindowSeconds: 3600, allowPrivateTargets: true, maxReceivesWithoutAttempt: 10 };

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

async function pendingDelivery(hook: Webhook, firstArrivedAt = Date.now()): Promise<Delivery> {
  const at = new Date().toISOString();
  const delivery: Delivery = {
    id: newId('msg'),
    webhookId: hook.id,
    accountId: hook.accountId,
    kind: 'realtime',
    status: 'PENDING',
    events: [{ eventId: `evt-${Math.random()}`, eventName: 'COURSE_COMPLETED', timestamp: Date.now(), eventInfo: 'x', data: { userId: 1 } }],
    attemptCount: 0,
    firstArrivedAt,
    createdAt: at,
    updatedAt: at,
    redeliveries: 0,
  };
  await deliveries.create(delivery);
  return delivery;
}

function workerFor(hook: WebhookWithCredentials | undefined, disabled: string[] = []): DeliveryWorker {
  return new DeliveryWorker({
    deliveries,
    findWebhook: async () => hook,
    send: sendWebhook,
    disableWebhook: async (_w, reason) => {
      disabled.push(reason);
    },
    settings,
  });
}

const message = (d: Delivery) => ({ accountId: d.accountId, webhookId: d.webhookId, deliveryId: d.id });

describe('the delivery worker', () => {
  beforeEach(() => listener.received.splice(0));

  it('delivers a signed envelope and logs the success', async () => {
    listener.respond(() => ({ status: 202, body: 'accepted' }));
    const hook = webhook();
    const delivery = await pendingDelivery(hook);
    expect(await workerFor(hook).work(message(delivery), 1)).toEqual({ action: 'done' });

    const [request] = await listener.waitFor(1);
    expect(JSON.parse(request!.body)).toEqual({ accountId: 1010, events: delivery.events });
    expect(request!.headers['webhook-id']).toBe(delivery.id);
    const secret = hook.credentials.signingSecrets![0]!.secret;
    expect(() => new StandardWebhook(secret).verify(request!.body, request!.headers as Record<string, string>)).not.toThrow();

    expect(await deliveries.get(hook.id, delivery.id)).toMatchObject({ status: 'SUCCEEDED', attemptCount: 1 });
    expect((await deliveries.attempts(hook.id, delivery.id, { limit: 100 })).items).toEqual([expect.objectContaining({ number: 1, statusCode: 202, responseBody: 'accepted' })]);
  });

  it('schedules a retry on failure, honouring Retry-After within bounds', async () => {
    const hook = webhook();
    const delivery = await pendingDelivery(hook);
    listener.respond(() => ({ status: 500, body: 'boom' }));
    expect(await workerFor(hook).work(message(delivery), 1)).toEqual({ action: 'retry', delaySeconds: 5 });
    listener.respond(() => ({ status: 429, headers: { 'retry-after': '120' } }));
    expect(await workerFor(hook).work(message(delivery), 2)).toEqual({ action: 'retry', delaySeconds: 120 });

    const stored = await deliveries.get(hook.id, delivery.id);
    expect(stored).toMatchObject({ status: 'PENDING', attemptCount: 2, nextAttemptAt: expect.any(String) });
    const attempts = (await deliveries.attempts(hook.id, delivery.id, { limit: 100 })).items;
    expect(attempts.map((a) => [a.number, a.statusCode, a.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 429, 'HTTP 429'],
    ]);
  });

  it('gives up when the retry window has passed, fails the delivery and disables the webhook', async () => {
    const hook = webhook();
    const delivery = await pendingDelivery(hook, Date.now() - 3600 * 1000);
    listener.respond(() => ({ status: 503 }));
    const disabled: string[] = [];
    const result = await workerFor(hook, disabled).work(message(delivery), 1);
    expect(result.action).toBe('done');
    expect(await deliveries.get(hook.id, delivery.id)).toMatchObject({ status: 'FAILED', statusReason: expect.stringContaining('gave up') });
    expect(disabled).toHaveLength(1);
  });

  it('skips deliveries of inactive, disabled or deleted webhooks without a request', async () => {
    for (const hook of [webhook({ status: 'INACTIVE' }), webhook({ status: 'DISABLED' })]) {
      const delivery = await pendingDelivery(hook);
      await workerFor(hook).work(message(delivery), 1);
      expect(await deliveries.get(hook.id, delivery.id)).toMatchObject({ status: 'SKIPPED', statusReason: `webhook is ${hook.status}` });
    }
    const gone = webhook();
    const delivery = await pendingDelivery(gone);
    await workerFor(undefined).work(message(delivery), 1);
    expect(await deliveries.get(gone.id, delivery.id)).toMatchObject({ status: 'SKIPPED', statusReason: 'webhook was deleted' });
    expect(listener.received).toHaveLength(0);
  });

  it('does not send a finished delivery again (a duplicate message)', async () => {
    listener.respond(() => ({ status: 200 }));
    const hook = webhook();
    const delivery = await pendingDelivery(hook);
    await workerFor(hook).work(message(delivery), 1);
    expect(await workerFor(hook).work(message(delivery), 1)).toEqual({ action: 'done', note: 'delivery already SUCCEEDED' });
    expect(listener.received).toHaveLength(1);
  });

  it('dead-letters a message that keeps coming back without an attempt (a crash loop)', async () => {
    const hook = webhook();
    const delivery = await pendingDelivery(hook);
    expect((await workerFor(hook).work(message(delivery), 11)).action).toBe('dead-letter');
    expect(listener.received).toHaveLength(0);
  });

  it('sends Basic credentials when the webhook uses Basic auth', async () => {
    listener.respond(() => ({ status: 204 }));
    const hook = webhook({ authType: 'BASIC', credentials: { basic: { username: 'lms', password: 's3cret' } } });
    await workerFor(hook).work(message(await pendingDelivery(hook)), 1);
    const [request] = await listener.waitFor(1);
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from('lms:s3cret').toString('base64')}`);
    expect(request!.headers['webhook-signature']).toBeUndefined();
  });
});
