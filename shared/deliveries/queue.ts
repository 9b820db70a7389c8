import { ChangeMessageVisibilityCommand, DeleteMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Doorbell } from './model';

/**
 * The delivery FIFO queue, as a doorbell: at most one message per webhook that has work (group =
 * webhook id). The deduplication id makes a repeated ring within 5 minutes a no-op.
 */
export class DoorbellQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly deadLetterQueueUrl?: string,
  ) {}

  async ring(doorbell: Doorbell, deduplicationId: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(doorbell),
        MessageGroupId: doorbell.webhookId,
        MessageDeduplicationId: deduplicationId,
      }),
    );
  }

  /** Holds the doorbell until the backlog's head is due again (or hands it back at once with 0). */
  async hold(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }

  /**
   * Deletes an answered doorbell at once: Lambda deletes it only when the whole batch returns, and
   * until then its message group (the webhook) stays locked.
   */
  async delete(receiptHandle: string): Promise<void> {
    await this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }));
  }

  /** Moves a message that is not a doorbell to the FIFO dead-letter queue. */
  async deadLetter(body: string, groupId: string, deduplicationId: string, reason: string): Promise<void> {
    if (!this.deadLetterQueueUrl) throw new Error('No dead-letter queue configured (DELIVERY_DLQ_URL).');
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: body,
        MessageGroupId: groupId,
        MessageDeduplicationId: deduplicationId,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 256) } },
      }),
    );
  }
}
