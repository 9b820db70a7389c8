import { eventBridge } from '../../shared/adapters/eventbridge';
import { requestContinuation } from '../../shared/batch/continuation';
import { publishWebhookDisabled } from '../../shared/events/notices';
import { BATCH_CONTINUATION, INTERNAL_SOURCE, NOTICE_SOURCE, WEBHOOK_DISABLED_NOTICE } from '../../shared/events/sources';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/** Only the service puts its own Sources on the local bus, as the bus policy allows only its roles in AWS. */
let runtime: TestRuntime;
let lms: ReturnType<typeof producer>;

beforeAll(async () => {
  runtime = await startTestRuntime();
  lms = producer(runtime.eventsUrl);
});
afterAll(async () => {
  lms.close();
  await runtime.stop();
});

it('refuses forged notices and continuations from a producer, entry by entry', async () => {
  const forged = [
    { ...lms.entry(WEBHOOK_DISABLED_NOTICE, { webhookId: 'w' }), Source: NOTICE_SOURCE },
    { ...lms.entry(BATCH_CONTINUATION, { firedAt: 1, generation: 1 }), Source: INTERNAL_SOURCE },
  ];
  const result = await lms.put([...forged, lms.entry('COURSE_ENROLLMENT', { accountId: 1010, data: {} })]);

  expect(result.FailedEntryCount).toBe(2);
  expect(result.Entries!.map((e) => e.ErrorCode)).toEqual(['NotAuthorizedForSourceException', 'NotAuthorizedForSourceException', undefined]);
});

it("puts the service's own notices and continuations through its client", async () => {
  const notice = { accountId: 1010, webhookId: 'w', webhookName: 'n', reason: 'r', deliveryId: 'd', disabledAt: new Date().toISOString() };
  await expect(publishWebhookDisabled(await eventBridge(), 'lms-webhooks', notice)).resolves.toBeUndefined();
  await expect(requestContinuation(await eventBridge(), 'lms-webhooks', { firedAt: Date.now(), generation: 1 })).resolves.toBeUndefined();
});
