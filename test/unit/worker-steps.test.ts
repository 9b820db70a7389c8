import type { WebhookRequest } from '../../shared/dispatch/http-sender';
import { callListener, prepare } from '../../shared/dispatch/worker';
import type { WebhookWithCredentials } from '../../shared/webhooks/model';

/** The worker's first two steps alone (the third, handle, is driven through the drain's tests). */
const webhook: WebhookWithCredentials = {
  id: 'wh_00000000000000000000000001',
  accountId: 1010,
  name: 'listener',
  targetUrl: 'https://listener.example/hook',
  authType: 'NONE',
  events: ['COURSE_ENROLLMENT'],
  status: 'ACTIVE',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 1,
  credentials: {},
};

describe('prepare', () => {
  test('only an active webhook is called; otherwise how its delivery ends unsent, and why', () => {
    expect(prepare(webhook)).toEqual({ ready: true, webhook });
    expect(prepare(undefined)).toEqual({ ready: false, status: 'SKIPPED', reason: 'webhook was deleted' });
    expect(prepare({ ...webhook, status: 'INACTIVE' })).toEqual({ ready: false, status: 'SKIPPED', reason: 'webhook is INACTIVE' });
    expect(prepare({ ...webhook, status: 'DISABLED' })).toEqual({ ready: false, status: 'HELD', reason: 'webhook is DISABLED: held until it is re-enabled' });
  });
});

describe('callListener', () => {
  test('sends one request for the delivery and returns the attempt to record, numbered after those made', async () => {
    const sent: WebhookRequest[] = [];
    const at = new Date('2026-01-01T00:00:10.000Z');
    const delivery = { id: 'msg_1', accountId: 1010, attemptCount: 2, events: [{ eventId: 'e-1', eventName: 'COURSE_ENROLLMENT', timestamp: 1, eventInfo: '1-0-0-0', data: {} }] };

    const call = await callListener(async (request) => (sent.push(request), { ok: false, statusCode: 503, durationMs: 12.4, error: 'HTTP 503' }), webhook, delivery, at, {});

    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(webhook.targetUrl);
    expect(sent[0]!.headers['webhook-id']).toBe('msg_1');
    expect(call.attempt).toEqual({ number: 3, at: at.toISOString(), durationMs: 12, statusCode: 503, error: 'HTTP 503' });
  });
});
