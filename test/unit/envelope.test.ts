import { Webhook } from 'standardwebhooks';
import {
  chunkForBatches,
  deliveryHeaders,
  envelopeBody,
  eventInfoFor,
  type LmsEvent,
} from '../../shared/events/envelope';
import { generateSigningSecret } from '../../shared/signing';

const ACCOUNT = 1010;

function event(n: number, overrides: Partial<LmsEvent> = {}): LmsEvent {
  return {
    eventId: `evt-${n}`,
    eventName: 'COURSE_ENROLLMENT_BATCH',
    timestamp: 1_727_414_643_000 + n,
    eventInfo: eventInfoFor(1_727_414_643_000 + n, n),
    data: { userId: 4279332, loId: 'course:7374992', loInstanceId: 'course:7376092_10250977', loType: 'course' },
    ...overrides,
  };
}

const bytesOf = (chunk: LmsEvent[]): number => Buffer.byteLength(envelopeBody(ACCOUNT, chunk));
const ids = (chunks: LmsEvent[][]): string[][] => chunks.map((c) => c.map((e) => e.eventId));

describe('envelopeBody', () => {
  it('is the ALM envelope, fields in ALM order, events in the given order', () => {
    const [a, b] = [event(2), event(1)];
    expect(envelopeBody(ACCOUNT, [a!, b!])).toBe(
      `{"accountId":1010,"events":[` +
        `{"eventId":"evt-2","eventName":"COURSE_ENROLLMENT_BATCH","timestamp":1727414643002,"eventInfo":"1727414643002-000002-0-0",` +
        `"data":{"userId":4279332,"loId":"course:7374992","loInstanceId":"course:7376092_10250977","loType":"course"}},` +
        `{"eventId":"evt-1","eventName":"COURSE_ENROLLMENT_BATCH","timestamp":1727414643001,"eventInfo":"1727414643001-000001-0-0",` +
        `"data":{"userId":4279332,"loId":"course:7374992","loInstanceId":"course:7376092_10250977","loType":"course"}}]}`,
    );
  });

  it('sends only the documented fields of a stored event', () => {
    const stored = { ...event(1), accountId: ACCOUNT, ttl: 123 } as LmsEvent;
    expect(Object.keys(JSON.parse(envelopeBody(ACCOUNT, [stored])).events[0])).toEqual([
      'eventId',
      'eventName',
      'timestamp',
      'eventInfo',
      'data',
    ]);
  });
});

describe('chunkForBatches', () => {
  const limits = { maxEvents: 100, maxBytes: 256 * 1024, accountId: ACCOUNT };

  it('returns nothing for no events', () => {
    expect(chunkForBatches([], limits)).toEqual([]);
  });

  it('puts at most maxEvents in a request', () => {
    const events = Array.from({ length: 250 }, (_, i) => event(i));
    const chunks = chunkForBatches(events, limits);
    expect(chunks.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunks.flat()).toEqual(events);
  });

  it('keeps every request within maxBytes, filling each as far as it goes', () => {
    const padding = 'x'.repeat(10_000);
    const events = Array.from({ length: 60 }, (_, i) => event(i, { data: { padding } }));
    const chunks = chunkForBatches(events, limits);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(bytesOf(chunk)).toBeLessThanOrEqual(limits.maxBytes);
    // Greedy: the next event would not have fitted in the chunk before it.
    for (let i = 1; i < chunks.length; i++) {
      expect(bytesOf([...chunks[i - 1]!, chunks[i]![0]!])).toBeGreaterThan(limits.maxBytes);
    }
    expect(chunks.flat()).toEqual(events);
  });

  it('fills a request to exactly maxBytes when the events fit exactly', () => {
    const events = [event(1), event(2), event(3)];
    const exact = bytesOf(events.slice(0, 2));
    const chunks = chunkForBatches(events, { ...limits, maxBytes: exact });
    expect(ids(chunks)).toEqual([['evt-1', 'evt-2'], ['evt-3']]);
    expect(bytesOf(chunks[0]!)).toBe(exact);
  });

  it('counts bytes, not characters', () => {
    const events = [event(1, { data: { name: 'é'.repeat(1000) } }), event(2, { data: { name: 'é'.repeat(1000) } })];
    const chunks = chunkForBatches(events, { ...limits, maxBytes: 3000 });
    expect(chunks).toHaveLength(2);
    for (const chunk of chunks) expect(bytesOf(chunk)).toBeLessThanOrEqual(3000);
  });

  it('sends an event too big for any request alone, between its neighbours', () => {
    const huge = event(2, { data: { blob: 'x'.repeat(300 * 1024) } });
    const chunks = chunkForBatches([event(1), huge, event(3), event(4)], limits);
    expect(ids(chunks)).toEqual([['evt-1'], ['evt-2'], ['evt-3', 'evt-4']]);
  });

  it('orders by timestamp, keeping the given order for equal timestamps', () => {
    const t = 1_727_414_700_000;
    const events = [
      event(1, { timestamp: t + 5 }),
      event(2, { timestamp: t }),
      event(3, { timestamp: t + 5 }),
      event(4, { timestamp: t - 1 }),
      event(5, { timestamp: t }),
    ];
    expect(ids(chunkForBatches(events, limits))).toEqual([['evt-4', 'evt-2', 'evt-5', 'evt-1', 'evt-3']]);
    expect(events.map((e) => e.eventId)).toEqual(['evt-1', 'evt-2', 'evt-3', 'evt-4', 'evt-5']);
  });
});

describe('eventInfoFor', () => {
  it('has ALM’s observed shape', () => {
    expect(eventInfoFor(1_727_414_643_000, 47_210)).toBe('1727414643000-047210-0-0');
    expect(eventInfoFor(1_727_414_643_000, 47_210)).toMatch(/^\d{13}-\d{6}-\d+-\d+$/);
  });

  it('carries sequences beyond six digits in the third part', () => {
    expect(eventInfoFor(1_727_414_643_000, 12_345_678)).toBe('1727414643000-345678-12-0');
  });

  it('orders by time, then by sequence within the same millisecond', () => {
    const keys = [eventInfoFor(1_000_000_000_001, 5), eventInfoFor(1_000_000_000_000, 9), eventInfoFor(1_000_000_000_000, 10)];
    expect([...keys].sort()).toEqual([keys[1], keys[2], keys[0]]);
  });

  it.each([-1, 1.5])('rejects sequence %p as a programming error', (sequence) => {
    expect(() => eventInfoFor(1, sequence)).toThrow(RangeError);
  });
});

describe('deliveryHeaders', () => {
  const body = envelopeBody(ACCOUNT, [event(1)]);
  const timestampSeconds = Math.floor(Date.now() / 1000);
  const base = { messageId: 'dlv_01jb6x', timestampSeconds, body };

  it('carries only the Standard Webhooks id and timestamp without auth', () => {
    expect(deliveryHeaders({ ...base, auth: { type: 'NONE' } })).toEqual({
      'webhook-id': 'dlv_01jb6x',
      'webhook-timestamp': String(timestampSeconds),
    });
  });

  it('sends Basic credentials', () => {
    const headers = deliveryHeaders({ ...base, auth: { type: 'BASIC', username: 'lms', password: 'pä:ss' } });
    expect(headers.authorization).toBe(`Basic ${Buffer.from('lms:pä:ss').toString('base64')}`);
    expect(headers).not.toHaveProperty('webhook-signature');
  });

  it('signs so that the stock Standard Webhooks verifier accepts it', () => {
    const secret = generateSigningSecret();
    const headers = deliveryHeaders({ ...base, auth: { type: 'SIGNATURE', secrets: [secret] } });
    expect(headers).not.toHaveProperty('authorization');
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('signs with every live secret during a rotation', () => {
    const [current, previous] = [generateSigningSecret(), generateSigningSecret()];
    const headers = deliveryHeaders({ ...base, auth: { type: 'SIGNATURE', secrets: [current, previous] } });
    for (const secret of [current, previous]) expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(generateSigningSecret()).verify(body, headers)).toThrow();
  });
});
