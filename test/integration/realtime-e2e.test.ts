import { Webhook as StandardWebhook } from 'standardwebhooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RejectedEventStore } from '../../shared/ingest/rejected-store';
import { eventually } from './support/eventually';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;

beforeAll(async () => {
  listener = await startListener();
  runtime = await startTestRuntime({ RETRY_DELAYS_SECONDS: '1', ROUTER_CONCURRENCY: '1' });
  lms = producer(runtime.eventsUrl);
});
afterAll(async () => {
  lms.close();
  await runtime.stop();
  await listener.close();
});
beforeEach(() => {
  listener.received.splice(0);
  listener.respond(() => ({ status: 202 }));
});

const completion = (userId: number) => ({ userId, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course', hasPassed: true });

async function createWebhook(accountId: number, body: Record<string, unknown> = {}): Promise<{ id: string; signingSecret?: string }> {
  const response = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: 'e2e', targetUrl: listener.url, auth: { type: 'SIGNATURE' }, events: ['COURSE_COMPLETED'], ...body }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; signingSecret?: string };
}

describe('real-time delivery end to end', () => {
  it('delivers a produced event to the listener as a signed ALM envelope, with the missing fields filled in', async () => {
    const { id, signingSecret } = await createWebhook(2001);
    const result = await lms.put([lms.entry('COURSE_COMPLETED', { accountId: 2001, data: completion(7) })]);
    expect(result.FailedEntryCount).toBe(0);

    const [request] = await listener.waitFor(1);
    const body = JSON.parse(request!.body) as { accountId: number; events: Record<string, unknown>[] };
    expect(body.accountId).toBe(2001);
    expect(body.events).toEqual([
      {
        eventId: expect.any(String),
        eventName: 'COURSE_COMPLETED',
        timestamp: expect.any(Number),
        eventInfo: expect.stringMatching(/^\d+-\d{6}-\d+-\d+$/),
        data: completion(7),
      },
    ]);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(() => new StandardWebhook(signingSecret!).verify(request!.body, request!.headers as Record<string, string>)).not.toThrow();

    const log = await eventually(
      async () => (await (await runtime.api(`/webhooks/${id}/deliveries`, { accountId: 2001 })).json()) as { items: { id: string; status: string }[] },
      (page) => page.items[0]?.status === 'SUCCEEDED',
    );
    expect(log.items[0]!.id).toBe(request!.headers['webhook-id']);
  });

  it('delivers the same eventId once, and nothing for accounts or events nobody subscribed to', async () => {
    await createWebhook(2002);
    const data = completion(8);
    await lms.put([lms.entry('COURSE_COMPLETED', { accountId: 2002, eventId: 'same-event', data })]);
    await lms.put([lms.entry('COURSE_COMPLETED', { accountId: 2002, eventId: 'same-event', data })]);
    await lms.put([
      lms.entry('COURSE_COMPLETED', { accountId: 9999, data }),
      lms.entry('COURSE_ENROLLMENT', { accountId: 2002, data: { ...data, enrollmentSource: 'SELF_ENROLL' } }),
      lms.entry('COURSE_COMPLETED', { accountId: 2002, eventId: 'marker', data }),
    ]);
    await listener.waitFor(2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(listener.received.map((r) => (JSON.parse(r.body) as { events: { eventId: string }[] }).events[0]!.eventId)).toEqual(['same-event', 'marker']);
  });

  it('keeps invalid events as rejected with a reason while the valid ones in the same call go through', async () => {
    await createWebhook(2003);
    const result = await lms.put([
      lms.entry('NOT_AN_EVENT', { accountId: 2003, data: {} }),
      lms.entry('COURSE_COMPLETED', { data: completion(1) }),
      lms.entry('COURSE_COMPLETED', { accountId: 2003, data: 'not an object' }),
      lms.entry('COURSE_COMPLETED', { accountId: 2003, data: { loId: 'course:1' } }),
      lms.entry('COURSE_COMPLETED', { accountId: 2003, eventId: 'valid', data: completion(2) }),
    ]);
    expect(result.FailedEntryCount).toBe(0);
    const [request] = await listener.waitFor(1);
    expect(JSON.parse(request!.body).events[0].eventId).toBe('valid');

    const store = new RejectedEventStore(DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB })), process.env.TABLE_NAME!);
    const rejected = await eventually(
      () => store.listDay(new Date()),
      (items) => items.length >= 4,
    );
    expect(rejected.map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        'unknown event name "NOT_AN_EVENT"',
        expect.stringContaining('invalid detail: accountId'),
        expect.stringContaining('invalid detail: data'),
        expect.stringContaining('invalid data for COURSE_COMPLETED: userId'),
      ]),
    );
  });

  it('refuses an entry over 256 KB at PutEvents, and the service keeps working', async () => {
    await createWebhook(2004);
    const huge = lms.entry('COURSE_COMPLETED', { accountId: 2004, data: { ...completion(3), padding: 'x'.repeat(500 * 1024) } });
    await expect(lms.put([huge])).rejects.toThrow(/size|limit/i);
    await lms.put([lms.entry('COURSE_COMPLETED', { accountId: 2004, eventId: 'after-huge', data: completion(3) })]);
    const [request] = await listener.waitFor(1);
    expect(JSON.parse(request!.body).events[0].eventId).toBe('after-huge');
  });

  it('delivers a 100-event sequence in order while the listener fails the 3rd request twice', async () => {
    await createWebhook(2005);
    let thirdSeen = 0;
    listener.respond((request) => {
      const seq = (JSON.parse(request.body) as { events: { data: { seq: number } }[] }).events[0]!.data.seq;
      if (seq === 3 && thirdSeen++ < 2) return { status: 500 };
      return { status: 202 };
    });
    for (let batch = 0; batch < 10; batch++) {
      await lms.put(
        Array.from({ length: 10 }, (_, i) => lms.entry('COURSE_COMPLETED', { accountId: 2005, data: { ...completion(1), seq: batch * 10 + i + 1 } })),
      );
    }
    const received = await listener.waitFor(102, 30_000);
    const sequence = received.map((r) => (JSON.parse(r.body) as { events: { data: { seq: number } }[] }).events[0]!.data.seq);
    expect(sequence).toEqual([1, 2, 3, 3, 3, ...Array.from({ length: 97 }, (_, i) => i + 4)]);
    // The retries waited the configured second each; nothing overtook them.
    expect(received[3]!.at - received[2]!.at).toBeGreaterThanOrEqual(900);
  });
});
