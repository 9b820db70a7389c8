import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { NOTICE_SOURCE, WEBHOOK_DISABLED_NOTICE } from '../wiring';

export interface WebhookDisabledNotice {
  readonly accountId: number;
  readonly webhookId: string;
  readonly webhookName: string;
  readonly reason: string;
  readonly deliveryId: string;
  readonly disabledAt: string;
}

/** Announces on the bus (Source `lms.webhooks`) that a webhook was switched off for failing. */
export async function publishWebhookDisabled(client: EventBridgeClient, busName: string, notice: WebhookDisabledNotice): Promise<void> {
  const result = await client.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: busName, Source: NOTICE_SOURCE, DetailType: WEBHOOK_DISABLED_NOTICE, Detail: JSON.stringify(notice) }],
    }),
  );
  if (result.FailedEntryCount) {
    throw new Error(`The ${WEBHOOK_DISABLED_NOTICE} notice was refused: ${result.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
  }
}
