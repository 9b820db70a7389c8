import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PurgeQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LocalEventBus } from '../../../infra/local/event-bus';
import { type LocalQueues, startLocalQueues } from '../../../infra/local/queues';
import { credentials, gate, hasSettled, region, sqsClient } from './aws';
import { BATCH_CONTINUATION, BATCH_CONTINUATION_EVENT_PATTERN, INGEST_EVENT_PATTERN, INTERNAL_SOURCE, NOTICE_SOURCE } from '../../../shared/events/sources';

const busName = 'lms-webhooks';
const busArn = `arn:aws:events:${region}:000000000000:event-bus/${busName}`;
const entry = (overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  EventBusName: busName,
  Source: 'lms',
  DetailType: 'COURSE_ENROLLMENT',
  Detail: JSON.stringify({ accountId: 1010, data: { courseId: 'c-1' } }),
  ...overrides,
});

/** A bus whose rule target sends through `target`, and a producer's client of it. */
async function startBus(target: SQSClient): Promise<{ bus: LocalEventBus; events: EventBridgeClient }> {
  const started = new LocalEventBus({
    host: '127.0.0.1',
    port: 0,
    busName,
    rules: [{ pattern: INGEST_EVENT_PATTERN, queueUrl: queues.ingestQueueUrl }],
    sqsClient: target,
    region,
  });
  return { bus: started, events: new EventBridgeClient({ endpoint: await started.start(), region, credentials }) };
}

let queues: LocalQueues;
let sqs: SQSClient;
let bus: LocalEventBus;
let events: EventBridgeClient;

beforeAll(async () => {
  queues = await startLocalQueues();
  sqs = sqsClient(queues.endpoint);
  ({ bus, events } = await startBus(sqs));
});

afterAll(async () => {
  events.destroy();
  await bus.stop();
  sqs.destroy();
  await queues.stop();
});

afterEach(() => sqs.send(new PurgeQueueCommand({ QueueUrl: queues.ingestQueueUrl })));

async function queuedEvents(): Promise<Array<Record<string, unknown>>> {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.ingestQueueUrl, MaxNumberOfMessages: 10 }));
  return Messages.map((m) => JSON.parse(m.Body!));
}

it('queues an accepted event as the EventBridge envelope an SQS rule target receives', async () => {
  const result = await events.send(new PutEventsCommand({ Entries: [entry({ Resources: ['arn:aws:lms:::course/c-1'] })] }));

  expect(result.FailedEntryCount).toBe(0);
  const eventId = result.Entries![0].EventId!;
  expect(eventId).toMatch(/^[0-9a-f-]{36}$/);
  const [event] = await queuedEvents();
  expect(event).toEqual({
    version: '0',
    id: eventId,
    'detail-type': 'COURSE_ENROLLMENT',
    source: 'lms',
    account: '000000000000',
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    region,
    resources: ['arn:aws:lms:::course/c-1'],
    detail: { accountId: 1010, data: { courseId: 'c-1' } },
  });
  expect(Object.keys(event)).toEqual(['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail']);
});

it('takes the event time from Time and accepts the bus ARN', async () => {
  await events.send(new PutEventsCommand({ Entries: [entry({ EventBusName: busArn, Time: new Date('2025-03-07T12:34:56.789Z') })] }));
  const [event] = await queuedEvents();
  expect(event).toMatchObject({ time: '2025-03-07T12:34:56Z', resources: [] });
});

it('accepts but does not queue events the rule does not match', async () => {
  const result = await events.send(new PutEventsCommand({ Entries: [entry({ Source: 'crm', DetailType: 'CONTACT_ADDED' }), entry()] }));
  expect(result.FailedEntryCount).toBe(0);
  expect(result.Entries!.every((e) => e.EventId)).toBe(true);
  expect((await queuedEvents()).map((e) => e.source)).toEqual(['lms']);
});

it("refuses the service's own Sources from a producer, entry by entry, as the bus policy does in AWS", async () => {
  const forged = ['lms.webhooks', 'lms.webhooks.internal', 'lms.webhooks.anything', 'lms.webhooksx'].map((Source) => entry({ Source }));
  const result = await events.send(new PutEventsCommand({ Entries: [...forged, entry({ Source: 'lms.webhook' }), entry()] }));

  expect(result.FailedEntryCount).toBe(forged.length);
  expect(result.Entries).toEqual([
    ...forged.map(() => ({ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: expect.stringContaining('this source') })),
    { EventId: expect.any(String) },
    { EventId: expect.any(String) },
  ]);
  expect((await queuedEvents()).map((e) => e.source)).toEqual(['lms']);
});

it("puts the service's own Sources through its in-process transport, onto the rules as any event", async () => {
  const invoked: Array<{ source: string; 'detail-type': string }> = [];
  const serviceBus = new LocalEventBus({
    host: '127.0.0.1',
    port: 0,
    busName,
    rules: [{ pattern: BATCH_CONTINUATION_EVENT_PATTERN, invoke: (event) => invoked.push(event) }],
    sqsClient: sqs,
    region,
  });
  const endpoint = await serviceBus.start();
  const service = new EventBridgeClient({ endpoint, region, credentials, requestHandler: serviceBus.serviceTransport });
  try {
    const continuation = { EventBusName: busName, Source: INTERNAL_SOURCE, DetailType: BATCH_CONTINUATION, Detail: '{"firedAt":1,"generation":1}' };
    const notice = { EventBusName: busName, Source: NOTICE_SOURCE, DetailType: 'WEBHOOK_DISABLED', Detail: '{"webhookId":"w"}' };
    const result = await service.send(new PutEventsCommand({ Entries: [continuation, notice] }));

    expect(result).toMatchObject({ FailedEntryCount: 0, Entries: [{ EventId: expect.any(String) }, { EventId: expect.any(String) }] });
    expect(invoked).toEqual([expect.objectContaining({ source: INTERNAL_SOURCE, 'detail-type': BATCH_CONTINUATION })]);
    await expect(service.send(new PutEventsCommand({ Entries: [] }))).rejects.toMatchObject({ name: 'ValidationException' });
  } finally {
    service.destroy();
    await serviceBus.stop();
  }
});

it('fails bad entries one by one, with AWS error codes, and queues the rest', async () => {
  const entries: PutEventsRequestEntry[] = [
    entry({ Detail: '{"n":1}' }),
    entry({ EventBusName: undefined }),
    entry({ EventBusName: 'default' }),
    entry({ EventBusName: 'another-bus' }),
    entry({ Source: undefined }),
    entry({ DetailType: undefined }),
    entry({ Detail: undefined }),
    entry({ Detail: '[1, 2]' }),
    entry({ Detail: '{"unterminated": ' }),
    entry({ Detail: '{"n":2}' }),
  ];
  const result = await events.send(new PutEventsCommand({ Entries: entries }));

  expect(result.FailedEntryCount).toBe(8);
  expect(result.Entries).toEqual([
    { EventId: expect.any(String) },
    { ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringMatching(/^Parameter EventBusName is not valid.*default.*lms-webhooks/) },
    { ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringMatching(/^Parameter EventBusName is not valid.*default/) },
    { ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringMatching(/^Parameter EventBusName is not valid.*another-bus/) },
    { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' },
    { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.' },
    { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.' },
    { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
    { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
    { EventId: expect.any(String) },
  ]);
  expect((await queuedEvents()).map((e) => e.detail).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
    { n: 1 },
    { n: 2 },
  ]);
});

it("queues a request's events with one send, in the order given", async () => {
  const sent: string[] = [];
  const watched = sqsClient(queues.endpoint);
  watched.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName!);
      return next(args);
    },
    { step: 'initialize' },
  );
  const { bus: watchedBus, events: client } = await startBus(watched);
  try {
    const entries = Array.from({ length: 10 }, (_, n) => entry({ Detail: JSON.stringify({ n }) }));
    const result = await client.send(new PutEventsCommand({ Entries: entries }));

    expect(result.FailedEntryCount).toBe(0);
    expect(sent).toEqual(['SendMessageBatchCommand']);
    expect((await queuedEvents()).map((e) => e.detail)).toEqual(entries.map((e) => JSON.parse(e.Detail!)));
  } finally {
    client.destroy();
    await watchedBus.stop();
    watched.destroy();
  }
});

it('fails only the events the queue refused, and queues the others', async () => {
  // A character SQS does not accept in a message body, though JSON does.
  const refused = entry({ Detail: '{"text":"\uffff"}' });
  const result = await events.send(new PutEventsCommand({ Entries: [entry({ Detail: '{"n":1}' }), refused, entry({ Detail: '{"n":2}' })] }));

  expect(result.FailedEntryCount).toBe(1);
  expect(result.Entries).toEqual([
    { EventId: expect.any(String) },
    { ErrorCode: 'InternalFailure', ErrorMessage: expect.stringMatching(/^The event could not be queued: Invalid characters/) },
    { EventId: expect.any(String) },
  ]);
  expect((await queuedEvents()).map((e) => e.detail)).toEqual([{ n: 1 }, { n: 2 }]);
});

it('rejects a request of more than 10 entries, or none, as a whole', async () => {
  await expect(events.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) }))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringContaining('less than or equal to 10'),
    $metadata: { httpStatusCode: 400 },
  });
  await expect(events.send(new PutEventsCommand({ Entries: [] }))).rejects.toMatchObject({ name: 'ValidationException' });
  expect(await queuedEvents()).toEqual([]);
});

it("measures entries as AWS does and rejects a request over 256 KB as a whole", async () => {
  // Time counts 14 bytes; Source, DetailType and Detail their UTF-8 bytes ("é" is two).
  const fixed = 14 + 'lms'.length + 'COURSE_ENROLLMENT'.length + '{"pad":""}'.length;
  const padding = 'é'.repeat(1000) + 'x'.repeat(256 * 1024 - fixed - 2000);
  const atLimit = entry({ Time: new Date(), Detail: JSON.stringify({ pad: padding }) });

  const accepted = await events.send(new PutEventsCommand({ Entries: [atLimit] }));
  expect(accepted.FailedEntryCount).toBe(0);

  const overLimit = entry({ Time: new Date(), Detail: JSON.stringify({ pad: `${padding}x` }) });
  await expect(events.send(new PutEventsCommand({ Entries: [overLimit] }))).rejects.toMatchObject({
    name: 'ValidationException',
    message: 'Total size of the entries in the request is over the limit.',
  });
});

it("fails an entry whose Time no date can hold as that entry's InvalidArgument, and queues the rest", async () => {
  const good = { EventBusName: busName, Source: 'lms', DetailType: 'COURSE_ENROLLMENT', Detail: '{"n":1}' };
  // Epoch seconds, as JSON 1.1 sends Time: beyond any date, and beyond years 0000-9999.
  const times = [1e16, 8640000000001, -1e30, 253402300800];
  const response = await fetch(bus.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
    body: JSON.stringify({ Entries: [...times.map((Time) => ({ ...good, Time })), { ...good, Time: 253402300799 }] }),
  });

  expect(response.status).toBe(200);
  const result = (await response.json()) as { FailedEntryCount: number; Entries: unknown[] };
  expect(result.FailedEntryCount).toBe(times.length);
  expect(result.Entries).toEqual([
    ...times.map(() => ({ ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringMatching(/^Parameter Time is not valid/) })),
    { EventId: expect.any(String) },
  ]);
  expect((await queuedEvents()).map((e) => e.time)).toEqual(['9999-12-31T23:59:59Z']);
});

it('answers other operations and malformed bodies with AWS JSON errors', async () => {
  const post = (target: string, body: string) =>
    fetch(bus.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target }, body });

  const unknown = await post('AWSEvents.PutRule', '{}');
  expect(unknown.status).toBe(400);
  expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });

  const malformed = await post('AWSEvents.PutEvents', '{"Entries": [');
  expect(malformed.status).toBe(400);
  expect(await malformed.json()).toMatchObject({ __type: 'SerializationException' });

  const wrongType = await post('AWSEvents.PutEvents', '{"Entries": [{"Source": 5}]}');
  expect(await wrongType.json()).toMatchObject({ __type: 'SerializationException', message: expect.stringContaining('Source') });
});

it('finishes requests in progress before stop() resolves', async () => {
  const held = gate();
  const reached = gate();
  const slowSqs = sqsClient(queues.endpoint);
  slowSqs.middlewareStack.add((next) => async (args) => {
    reached.open();
    await held.opened;
    return next(args);
  });
  const { bus: slowBus, events: client } = await startBus(slowSqs);

  const put = client.send(new PutEventsCommand({ Entries: [entry()] }));
  await reached.opened;
  const stopping = slowBus.stop();
  expect(await hasSettled(stopping)).toBe(false);

  held.open();
  expect((await put).FailedEntryCount).toBe(0);
  await stopping;
  expect(await queuedEvents()).toHaveLength(1);
  client.destroy();
  slowSqs.destroy();
});
