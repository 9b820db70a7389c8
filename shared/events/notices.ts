import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { NOTICE_SOURCE, WEBHOOK_DISABLED_NOTICE, WEBHOOK_FAILING_NOTICE } from './sources';

export interface WebhookDisabledNotice {
  readonly accountId: number;
  readonly webhookId: string;
  readonly webhookName: string;
  readonly reason: string;
  readonly deliveryId: string;
  readonly disabledAt: string;
}

export interface WebhookFailingNotice {
  readonly accountId: number;
  readonly webhookId: string;
  readonly webhookName: string;
  /** The head delivery that keeps failing, and since when (its arrival or redelivery). */
  readonly deliveryId: string;
  readonly failingSince: string;
  /** When it will be given up, and the webhook disabled, if the listener does not recover. */
  readonly disablesAt: string;
  readonly lastError: string;
}

/** Announces on the bus (Source `lms.webhooks`) that a webhook was switched off for failing. */
export async function publishWebhookDisabled(client: EventBridgeClient, busName: string, notice: WebhookDisabledNotice): Promise<void> {
  await publishNotice(client, busName, WEBHOOK_DISABLED_NOTICE, notice);
}

/** Announces on the bus that a webhook has failed for half of the retry window, so operators hear before it is disabled. */
export async function publishWebhookFailing(client: EventBridgeClient, busName: string, notice: WebhookFailingNotice): Promise<void> {
  await publishNotice(client, busName, WEBHOOK_FAILING_NOTICE, notice);
}

async function publishNotice(client: EventBridgeClient, busName: string, detailType: string, notice: object): Promise<void> {
  const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
  const result = await client.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: busName, Source: NOTICE_SOURCE, DetailType: detailType, Detail: JSON.stringify(notice) }],
    }),
  );
  if (result.FailedEntryCount) {
    throw new Error(`The ${detailType} notice was refused: ${result.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
  }
}
