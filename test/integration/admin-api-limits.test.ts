import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Delivery } from '../../shared/deliveries/model';
import { DeliveryStore } from '../../shared/deliveries/store';
import { newId } from '../../shared/ids';
import { API_FUNCTION, TEST_REQUEST_TIMEOUTS } from '../../shared/wiring';
import { startListener, type TestListener } from './support/listener';
import { startTestRuntime, type TestRuntime } from './support/runtime';

let runtime: TestRuntime;
let listener: TestListener;
beforeAll(async () => {
  [runtime, listener] = await Promise.all([startTestRuntime(), startListener()]);
});
afterAll(async () => {
  await listener.close();
  await runtime.stop();
});

const basic = { name: 'basic', targetUrl: 'http://127.0.0.1:9/hooks', auth: { type: 'BASIC', username: 'lms', password: 's3cret' }, events: ['COURSE_COMPLETED'] };

async function createWebhook(body: unknown = basic): Promise<string> {
  const response = await runtime.api('/webhooks', { method: 'POST', body: JSON.stringify(body) });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function problemFields(response: Response, status: number): Promise<string[]> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (((await response.json()) as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field);
}

describe('a Basic password does not follow the URL to another origin', () => {
  it('refuses a new origin without the credentials, naming auth.password', async () => {
    const id = await createWebhook();
    const patch = (body: unknown) => runtime.api(`/webhooks/${id}`, { method: 'PATCH', body: JSON.stringify(body) });
    expect(await problemFields(await patch({ targetUrl: 'http://127.0.0.2:9/hooks' }), 400)).toEqual(['auth.password']);
    expect(await problemFields(await patch({ targetUrl: 'http://127.0.0.1:10/hooks' }), 400)).toEqual(['auth.password']);
    expect((await patch({ targetUrl: 'http://127.0.0.1:9/other-path' })).status).toBe(200);
    const moved = await patch({ targetUrl: 'http://127.0.0.2:9/hooks', auth: { type: 'BASIC', username: 'lms', password: 'new' } });
    expect(moved.status).toBe(200);
    expect(await moved.json()).toMatchObject({ targetUrl: 'http://127.0.0.2:9/hooks', auth: { type: 'BASIC', username: 'lms' } });
  });
});

describe('crafted page tokens are a 400, never a 5xx', () => {
  /** Deterministic pseudo-random numbers: the same 200 tokens on every run. */
  function seededRandom(): () => number {
    let state = 0x9e3779b9;
    return () => {
      state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return state / 2 ** 32;
    };
  }

  /**
   * Mutations of a key the list could really return (`valid`), each of which makes it one the list
   * never returns: a key attribute dropped or added, a value that is no string, empty or too long,
   * or a partition or sort key outside the query (`outside`); plus tokens that are not base64 JSON
   * objects at all.
   */
  function craftedTokens(valid: Record<string, string>, outside: Record<string, string[]>, count: number, random: () => number): string[] {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const malformed: unknown[] = ['', 'x'.repeat(600), 'é'.repeat(300), 0, -1, 1e308, true, null, [], {}, { S: 'x' }];
    const tokens = ['!!!', 'e30', Buffer.from('null').toString('base64url'), Buffer.from('[1,2]').toString('base64url'), Buffer.from('{"pk":').toString('base64url')];
    while (tokens.length < count) {
      const key: Record<string, unknown> = { ...valid };
      const name = pick(Object.keys(valid));
      const mutation = Math.floor(random() * 4);
      if (mutation === 0) delete key[name];
      else if (mutation === 1) key[pick(['other', 'gsi1pk', 'gsi1sk', 'expiresAt', 'sk'].filter((n) => !(n in valid)))] = pick(['x', 1]);
      else if (mutation === 2 || !outside[name]) key[name] = pick(malformed);
      else key[name] = pick(outside[name]!);
      tokens.push(Buffer.from(JSON.stringify(key)).toString(random() < 0.5 ? 'base64url' : 'base64'));
    }
    return tokens;
  }

  it('answers 200 crafted tokens, spread over the three list queries, with 400 each', async () => {
    const id = await createWebhook({ ...basic, auth: { type: 'NONE' } });
    const deliveryId = newId('msg');
    const otherWebhook = `WEBHOOK#${newId('wh')}`;
    const lists: [string, Record<string, string>, Record<string, string[]>][] = [
      ['/webhooks', { pk: 'ACCOUNT#1010', sk: `WEBHOOK#${id}` }, { pk: ['ACCOUNT#2020', `WEBHOOK#${id}`], sk: ['LIMITS', 'WEBHOOK#', `DELIVERY#${deliveryId}`, 'A'] }],
      [
        `/webhooks/${id}/deliveries`,
        { pk: `WEBHOOK#${id}`, sk: `DELIVERY#${deliveryId}` },
        { pk: [otherWebhook, 'ACCOUNT#1010'], sk: ['DELIVERY#', `ATTEMPT#${deliveryId}#000001`, `DEDUP#event:x`, 'ZZZ'] },
      ],
      [
        `/webhooks/${id}/deliveries?status=FAILED`,
        { pk: `WEBHOOK#${id}`, sk: `DELIVERY#${deliveryId}`, gsi1pk: `WEBHOOK#${id}#STATUS#FAILED`, gsi1sk: deliveryId },
        { pk: [otherWebhook], sk: ['DELIVERY#', 'LIMITS'], gsi1pk: [`WEBHOOK#${id}#STATUS#SUCCEEDED`, `${otherWebhook}#STATUS#FAILED`, 'BATCH_DUE#0'] },
      ],
    ];
    const random = seededRandom();
    const failures: unknown[] = [];
    for (const [list, valid, outside] of lists) {
      for (const token of craftedTokens(valid, outside, list === '/webhooks' ? 68 : 66, random)) {
        const response = await runtime.api(`${list}${list.includes('?') ? '&' : '?'}nextToken=${encodeURIComponent(token)}`);
        if (response.status !== 400) failures.push({ list, key: Buffer.from(token, 'base64').toString(), status: response.status });
        else expect(await problemFields(response, 400)).toEqual(['nextToken']);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("one delivery's attempts are paged", () => {
  it('returns at most `limit` attempts with a token for the rest', async () => {
    const id = await createWebhook({ ...basic, auth: { type: 'NONE' } });
    const client = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
    const repository = new DeliveryStore(DynamoDBDocumentClient.from(client), process.env.TABLE_NAME!, 30);
    const at = new Date();
    let delivery: Delivery = {
      id: newId('msg'), webhookId: id, accountId: 1010, kind: 'realtime', status: 'PENDING', events: [], attemptCount: 0, attempts: [],
      firstArrivedAt: at.getTime(), createdAt: at.toISOString(), updatedAt: at.toISOString(), redeliveries: 0,
    };
    await repository.put(delivery);
    for (let number = 1; number <= 5; number++) {
      delivery = await repository.recordAttempt(delivery, { number, at: at.toISOString(), durationMs: 1, error: 'HTTP 500' }, { status: 'PENDING' });
    }
    client.destroy();
    const numbers: number[] = [];
    let nextToken: string | undefined;
    do {
      const response = await runtime.api(`/webhooks/${id}/deliveries/${delivery.id}?limit=2${nextToken ? `&nextToken=${nextToken}` : ''}`);
      const view = (await response.json()) as { attempts: { number: number }[]; attemptsNextToken?: string };
      expect(view.attempts.length).toBeLessThanOrEqual(2);
      numbers.push(...view.attempts.map((a) => a.number));
      nextToken = view.attemptsNextToken;
    } while (nextToken);
    expect(numbers).toEqual([1, 2, 3, 4, 5]);
    expect(await problemFields(await runtime.api(`/webhooks/${id}/deliveries/${delivery.id}?limit=101`), 400)).toEqual(['limit']);
  });
});

describe('POST /webhooks/{id}/test ends inside the API function timeout', () => {
  it('gives up on a listener that never answers, with the outcome rather than a gateway timeout', async () => {
    expect(TEST_REQUEST_TIMEOUTS.connectTimeoutMs + TEST_REQUEST_TIMEOUTS.responseTimeoutMs).toBeLessThanOrEqual(API_FUNCTION.timeoutSeconds * 1000 - 5000);
    listener.respond(() => ({ status: 200, delayMs: 60_000 }));
    const id = await createWebhook({ ...basic, targetUrl: listener.url, auth: { type: 'NONE' } });
    const started = Date.now();
    const response = await runtime.api(`/webhooks/${id}/test`, { method: 'POST' });
    const elapsed = Date.now() - started;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ delivered: false, error: expect.stringMatching(/timeout|timed out/i) });
    expect(elapsed).toBeLessThan(API_FUNCTION.timeoutSeconds * 1000);
  }, 30_000);
});
