import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PendingStore } from '../../shared/batch/pending-store';
import type { BacklogStateStore, DeliveryBacklog } from '../../shared/deliveries/backlog';
import { EventPins } from '../../shared/ingest/event-pins';
import { RejectedEventStore } from '../../shared/ingest/rejected-store';
import { EventRouter } from '../../shared/ingest/router';
import { AccountWebhooksCache } from '../../shared/webhooks/cache';
import { WebhookStore } from '../../shared/webhooks/store';
import { freshTable, webhookFixture } from './support/batch';

/** Ingest of batch-kind events: the router hands valid ones to the pending store and rejects bad ones like real-time events. */
let db: DynamoDBDocumentClient;
let tableName: string;
let store: PendingStore;
let rejected: RejectedEventStore;
let router: EventRouter;
const accountId = 3030;
const subscribed = webhookFixture({ accountId, events: ['LEARNER_PROGRESS', 'COURSE_ENROLLMENT_BATCH'] });
const inactive = webhookFixture({ accountId, events: ['LEARNER_PROGRESS'], status: 'INACTIVE' });
const other = webhookFixture({ accountId, events: ['COURSE_COMPLETED'] });

beforeAll(async () => {
  ({ db, tableName } = await freshTable());
  const webhooks = new WebhookStore(db, tableName);
  for (const webhook of [subscribed, inactive, other]) await webhooks.create(webhook, 5);
  store = new PendingStore(db, tableName);
  rejected = new RejectedEventStore(db, tableName);
  router = new EventRouter({
    webhooks: new AccountWebhooksCache(webhooks),
    // Batch events never reach the delivery backlog at ingest.
    backlog: {} as DeliveryBacklog,
    state: {} as BacklogStateStore,
    pending: store,
    rejected,
    pins: new EventPins(db, tableName),
  });
});

function busMessage(detailType: string, detail: Record<string, unknown>, id = `bus-${Math.random()}`): string {
  return JSON.stringify({ version: '0', id, 'detail-type': detailType, source: 'lms', account: '0', time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], detail });
}

const progress = { userId: 42, loId: 'course:1', loInstanceId: 'course:1_2', loType: 'course', dateStarted: 1767225600, progressPercent: 40 };
const pendingIds = async (webhookId: string) => (await store.read(webhookId, { limit: 100 })).items.map((p) => p.event.eventId);

describe('batch events at ingest', () => {
  it('are kept pending for each subscribed active webhook only, once however often they arrive', async () => {
    const message = busMessage('LEARNER_PROGRESS', { accountId, eventId: 'progress-1', timestamp: 1767225600123, data: progress });
    expect(await router.route(message)).toEqual({ outcome: 'routed', eventId: 'progress-1', deliveries: 0, pending: 1, accountId, writes: [] });
    await router.route(message);

    const [stored] = (await store.read(subscribed.id, { limit: 10 })).items;
    expect(stored!.event).toMatchObject({ eventId: 'progress-1', eventName: 'LEARNER_PROGRESS', timestamp: 1767225600123, data: progress });
    expect(await pendingIds(subscribed.id)).toEqual(['progress-1']);
    expect(await pendingIds(inactive.id)).toEqual([]);
    expect(await pendingIds(other.id)).toEqual([]);
  });

  it.each([
    ['data that fails the schema', { accountId, eventId: 'bad-1', data: { ...progress, progressPercent: 150 } }],
    ['missing required data', { accountId, eventId: 'bad-2', data: { loId: 'course:1' } }],
    ['no valid account', { accountId: 'acme', eventId: 'bad-3', data: progress }],
  ])('are rejected with a reason when they carry %s, and never become pending', async (_case, detail) => {
    const result = await router.route(busMessage('LEARNER_PROGRESS', detail));
    expect(result).toMatchObject({ outcome: 'rejected', reason: expect.any(String) });
    expect(await pendingIds(subscribed.id)).not.toContain(detail.eventId);
    const kept = await rejected.listDay(new Date());
    expect(kept.map((r) => r.raw)).toContainEqual(expect.stringContaining(detail.eventId));
  });
});
