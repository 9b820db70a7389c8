import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { publishWebhookDisabled, publishWebhookFailing } from '../../shared/events/notices';

const eventBridge = mockClient(EventBridgeClient);
const notice = { accountId: 1010, webhookId: 'wh_1', webhookName: 'HR', reason: 'gave up', deliveryId: 'msg_1', disabledAt: '2026-11-27T00:00:00.000Z' };

describe('the WEBHOOK_DISABLED notice', () => {
  beforeEach(() => eventBridge.reset());

  it('goes onto the service bus with Source lms.webhooks', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    await publishWebhookDisabled(new EventBridgeClient({}), 'lms-webhooks', notice);
    const [call] = eventBridge.commandCalls(PutEventsCommand);
    expect(call!.args[0].input.Entries).toEqual([
      { EventBusName: 'lms-webhooks', Source: 'lms.webhooks', DetailType: 'WEBHOOK_DISABLED', Detail: JSON.stringify(notice) },
    ]);
  });

  it('fails loudly when the bus refuses the entry, so the worker retries the message', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'x' }] });
    await expect(publishWebhookDisabled(new EventBridgeClient({}), 'lms-webhooks', notice)).rejects.toThrow(/InternalFailure/);
  });
});

it('the WEBHOOK_FAILING notice goes onto the same bus with the same Source', async () => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
  const failing = { accountId: 1010, webhookId: 'wh_1', webhookName: 'HR', deliveryId: 'msg_1', failingSince: '2026-11-27T00:00:00.000Z', disablesAt: '2026-12-04T00:00:00.000Z', lastError: 'HTTP 503' };
  await publishWebhookFailing(new EventBridgeClient({}), 'lms-webhooks', failing);
  expect(eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries).toEqual([
    { EventBusName: 'lms-webhooks', Source: 'lms.webhooks', DetailType: 'WEBHOOK_FAILING', Detail: JSON.stringify(failing) },
  ]);
});
