import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { keys } from '../../shared/storage/table';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;
let client: DynamoDBClient;
let db: DynamoDBDocumentClient;
beforeAll(async () => {
  listener = await startListener();
  runtime = await startTestRuntime();
  lms = producer(runtime.eventsUrl);
  client = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
  db = DynamoDBDocumentClient.from(client);
});
afterAll(async () => {
  lms.close();
  client.destroy();
  await runtime.stop();
  await listener.close();
});

const ACCOUNT = 3030;
const completion = { userId: 1, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course', hasPassed: true };

async function create(auth: Record<string, string>): Promise<{ id: string; signingSecret?: string }> {
  const response = await runtime.api('/webhooks', {
    method: 'POST',
    accountId: ACCOUNT,
    body: JSON.stringify({ name: 'at rest', targetUrl: listener.url, auth, events: ['COURSE_COMPLETED'] }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; signingSecret?: string };
}

/** The webhook's item exactly as the table holds it, read around the service. */
async function storedItem(id: string): Promise<Record<string, unknown>> {
  const { Item } = await db.send(new GetCommand({ TableName: process.env.TABLE_NAME!, Key: { pk: keys.account(ACCOUNT), sk: keys.webhook(id) } }));
  expect(Item).toBeDefined();
  return Item!;
}

describe('webhook secrets at rest', () => {
  it('stores the signing secret only as ciphertext, and deliveries still verify with the stock verifier', async () => {
    const { id, signingSecret } = await create({ type: 'SIGNATURE' });
    const item = await storedItem(id);
    const raw = JSON.stringify(item);
    expect(raw).not.toContain(signingSecret!);
    expect(raw).not.toContain(signingSecret!.replace(/^whsec_/, ''));
    expect(item).not.toHaveProperty('credentials');
    expect(item.sealedCredentials).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);

    await lms.put([lms.entry('COURSE_COMPLETED', { accountId: ACCOUNT, data: completion })]);
    const [request] = await listener.waitFor(1);
    expect(() => new StandardWebhook(signingSecret!).verify(request!.body, request!.headers as Record<string, string>)).not.toThrow();

    const download = (await (await runtime.api(`/webhooks/${id}/signature`, { accountId: ACCOUNT })).json()) as { secret: string };
    expect(download.secret).toBe(signingSecret);
  });

  it('stores a Basic password only as ciphertext, and sends it to the listener', async () => {
    listener.received.splice(0);
    const { id } = await create({ type: 'BASIC', username: 'lms-user', password: 'correct horse battery staple' });
    const item = await storedItem(id);
    expect(JSON.stringify(item)).not.toContain('correct horse battery staple');
    expect(item.basicUsername).toBe('lms-user');

    const test = (await (await runtime.api(`/webhooks/${id}/test`, { method: 'POST', accountId: ACCOUNT })).json()) as { delivered: boolean };
    expect(test.delivered).toBe(true);
    const [request] = await listener.waitFor(1);
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from('lms-user:correct horse battery staple').toString('base64')}`);
  });
});
