import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { publishWebhookDisabled } from '../../shared/delivery/notices';

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
