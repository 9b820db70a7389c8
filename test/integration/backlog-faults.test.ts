import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RejectedEventStore } from '../../shared/ingest/rejected-store';
import { eventually } from './support/eventually';
import { startListener, type Received, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/**
 * Faults of the backlog design on the local runtime, on a compressed clock: retries at once
 * (RETRY_DELAYS_SECONDS=0), a sweeper every second that re-rings doorbells overdue by 2 s.
 */
const SETTINGS = { RETRY_DELAYS_SECONDS: '0', DOORBELL_OVERDUE_SECONDS: '2' };
let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;
let sqs: SQSClient;
let queues: { delivery: string; deadLetter: string };

beforeAll(async () => {
  listener = await startListener();
  runtime = await startTestRuntime({ ...SETTINGS, SWEEP_SCHEDULE: 'rate(1 second)', BATCH_SCHEDULE: 'rate(2 seconds)' });
  lms = producer(runtime.eventsUrl);
  sqs = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  queues = { delivery: process.env.DELIVERY_QUEUE_URL!, deadLetter: process.env.DELIVERY_DLQ_URL! };
});
afterAll(async () => {
  sqs.destroy();
  lms.close();
  await runtime.stop();
  await listener.close();
  for (const name of Object.keys(SETTINGS)) delete process.env[name];
});

const completion = (seq: number) => ({ userId: 1, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course', seq });
const seqOf = (r: Received) => (JSON.parse(r.body) as { events: { data: { seq: number } }[] }).events[0]!.data.seq;
const at = (path: string) => listener.received.filter((r) => r.path === `/hook/${path}`);

async function createWebhook(accountId: number, path: string, events = ['COURSE_COMPLETED']): Promise<string> {
  const response = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: path, targetUrl: `${listener.url}/${path}`, auth: { type: 'NONE' }, events }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function putSequence(accountId: number, from: number, to: number): Promise<void> {
  for (let seq = from; seq <= to; seq += 10) {
    const entries = Array.from({ length: Math.min(10, to - seq + 1) }, (_, i) => lms.entry('COURSE_COMPLETED', { accountId, data: completion(seq + i) }));
    expect((await lms.put(entries)).FailedEntryCount).toBe(0);
  }
}

async function deadLetters(): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.deadLetter, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages);
}

// Each test's listener path answers as its test says; anything else succeeds.
const behaviour = new Map<string, (r: Received) => number>();
beforeEach(() => listener.respond((r) => ({ status: behaviour.get(r.path)?.(r) ?? 202 })));

it('a listener failing 40 times with 50 events queued behind the head: all 51 arrive once, in order; none dead-lettered or left PENDING', async () => {
  const accountId = 7001;
  const id = await createWebhook(accountId, 'forty');
  let failures = 0;
  behaviour.set('/hook/forty', () => (failures < 40 ? (failures++, 503) : 202));

  await putSequence(accountId, 0, 0);
  await eventually(async () => at('forty').length, (n) => n >= 1);
  await putSequence(accountId, 1, 50);

  const received = await eventually(async () => at('forty'), (r) => r.length >= 91, 60_000);
  expect(failures).toBe(40);
  expect(received.slice(0, 40).map(seqOf)).toEqual(Array(40).fill(0));
  expect(received.slice(40).map(seqOf)).toEqual(Array.from({ length: 51 }, (_, n) => n));
  const pending = (await (await runtime.api(`/webhooks/${id}/deliveries?status=PENDING`, { accountId })).json()) as { items: unknown[] };
  expect(pending.items).toEqual([]);
  expect(await deadLetters()).toBe(0);
});

it('a doorbell deleted from under the service: the sweeper rings again and everything arrives, in order', async () => {
  const accountId = 7002;
  await createWebhook(accountId, 'lost');
  let down = true;
  const succeeded: number[] = [];
  behaviour.set('/hook/lost', (r) => {
    if (down) return 503;
    succeeded.push(seqOf(r));
    return 202;
  });

  await putSequence(accountId, 1, 1);
  await eventually(async () => at('lost').length, (n) => n >= 1);
  // The doorbell is lost (in AWS: a crash between a ring's write and its send has the same effect).
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queues.delivery }));
  await putSequence(accountId, 2, 4);
  down = false;

  await eventually(async () => [...succeeded], (seqs) => seqs.length >= 4, 30_000);
  expect(succeeded).toEqual([1, 2, 3, 4]);
  expect(await deadLetters()).toBe(0);
});

it('a number beyond 2^53 is delivered exactly as put, in real time and in a batch, or rejected with a reason; later events still flow', async () => {
  const accountId = 7003;
  await createWebhook(accountId, 'numbers', ['COURSE_ENROLLMENT', 'LEARNER_PROGRESS']);
  const enrolment = (dateEnrolled: string, userId: number) =>
    `{"accountId":${accountId},"data":{"userId":${userId},"loId":"course:1","loInstanceId":"course:1_1","loType":"course","dateEnrolled":${dateEnrolled}}}`;
  const progress = (dateStarted: string, userId: number) =>
    `{"accountId":${accountId},"timestamp":${1_767_225_600_000 + userId},"data":{"userId":${userId},"loId":"course:1","loInstanceId":"course:1_1","loType":"course","progressPercent":10,"dateStarted":${dateStarted}}}`;
  const entry = (name: string, detail: string) => ({ EventBusName: 'lms-webhooks', Source: 'lms', DetailType: name, Detail: detail });

  await lms.put([
    entry('COURSE_ENROLLMENT', enrolment('1727414643000000000', 1)),
    entry('COURSE_ENROLLMENT', enrolment('1727414643000000001', 2)),
    entry('COURSE_ENROLLMENT', enrolment('1727414643', 3)),
  ]);
  await lms.put([entry('LEARNER_PROGRESS', progress('1727414643000000000', 10)), ...[11, 12, 13, 14, 15].map((n) => entry('LEARNER_PROGRESS', progress('1727414643', n)))]);

  const requests = await eventually(async () => at('numbers'), (r) => r.length >= 3, 30_000);
  const realtime = requests.filter((r) => r.body.includes('COURSE_ENROLLMENT'));
  expect(realtime).toHaveLength(2);
  expect(realtime[0]!.body).toContain('"dateEnrolled":1727414643000000000');
  expect(realtime[1]!.body).toContain('"dateEnrolled":1727414643}');
  const [batch] = requests.filter((r) => r.body.includes('LEARNER_PROGRESS'));
  expect(batch!.body).toContain('"dateStarted":1727414643000000000');
  expect((JSON.parse(batch!.body) as { events: unknown[] }).events).toHaveLength(6);

  const store = new RejectedEventStore(DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB })), process.env.TABLE_NAME!);
  const rejected = await eventually(() => store.listDay(new Date()), (items) => items.some((r) => r.accountId === accountId));
  expect(rejected.find((r) => r.accountId === accountId)?.reason).toMatch(/1727414643000000001 has more digits .* send it as a string/);
});

it('a webhook created a moment ago gets the very next event', async () => {
  const accountId = 7004;
  await createWebhook(accountId, 'older');
  // The router has read the account's webhooks already.
  await putSequence(accountId, 1, 1);
  await eventually(async () => at('older').length, (n) => n === 1);
  await createWebhook(accountId, 'newer');
  await putSequence(accountId, 2, 2);
  await eventually(async () => at('newer').map(seqOf), (seqs) => seqs.join() === '2');
});
