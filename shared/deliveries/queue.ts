import { ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryMessage } from './model';

/**
 * The delivery FIFO queue: one message group per webhook keeps its requests serial and in order;
 * the deduplication id makes a repeated enqueue of the same delivery within 5 minutes a no-op.
 */
export class DeliveryQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly deadLetterQueueUrl?: string,
  ) {}

  async send(message: DeliveryMessage, deduplicationId: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: message.webhookId,
        MessageDeduplicationId: deduplicationId,
      }),
    );
  }

  /** Holds a message back: the per-message retry delay (the group stays blocked meanwhile). */
  async delay(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }

  async delayAll(entries: { id: string; receiptHandle: string; seconds: number }[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 10) {
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: entries.slice(i, i + 10).map((e) => ({ Id: e.id, ReceiptHandle: e.receiptHandle, VisibilityTimeout: e.seconds })),
        }),
      );
    }
  }

  /** Moves a message the worker cannot or must not process to the FIFO dead-letter queue. */
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
