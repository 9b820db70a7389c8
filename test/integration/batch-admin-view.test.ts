import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PendingStore } from '../../shared/batch/pending-store';
import type { Webhook } from '../../shared/webhooks/model';
import { batchEvent } from './support/batch';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/** `GET /webhooks/{id}` on the local runtime shows the webhook's pending batch events and the next flush. */
let runtime: TestRuntime;
let store: PendingStore;
beforeAll(async () => {
  runtime = await startTestRuntime({ BATCH_SCHEDULE: 'rate(10 minutes)' });
  store = new PendingStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), process.env.TABLE_NAME!);
});
afterAll(async () => runtime.stop());

async function createWebhook(): Promise<{ id: string; accountId: number }> {
  const response = await runtime.api('/webhooks', {
    method: 'POST',
    body: JSON.stringify({ name: 'Batches', targetUrl: 'https://hr.example.com/hook', auth: { type: 'NONE' }, events: ['COURSE_ENROLLMENT_BATCH'] }),
  });
  expect(response.status).toBe(201);
  return { ...((await response.json()) as { id: string }), accountId: 1010 };
}

describe('batch visibility in the admin API', () => {
  it('shows how many batch events are pending and when the next flush is due', async () => {
    const webhook = await createWebhook();
    for (let n = 1; n <= 7; n++) await store.add(webhook as unknown as Webhook, batchEvent(n));

    const before = Date.now();
    const body = (await (await runtime.api(`/webhooks/${webhook.id}`)).json()) as { pendingBatchEvents: number; nextBatchFlushAt: string };

    expect(body.pendingBatchEvents).toBe(7);
    const next = Date.parse(body.nextBatchFlushAt);
    expect(next).toBeGreaterThan(before);
    expect(next).toBeLessThanOrEqual(Date.now() + 10 * 60_000);
  });

  it('shows zero for a webhook with nothing pending, and keeps the fields out of lists', async () => {
    const webhook = await createWebhook();
    expect(await (await runtime.api(`/webhooks/${webhook.id}`)).json()).toMatchObject({ id: webhook.id, pendingBatchEvents: 0 });
    const list = (await (await runtime.api('/webhooks')).json()) as { items: Record<string, unknown>[] };
    expect(list.items.every((item) => !('pendingBatchEvents' in item))).toBe(true);
  });
});
