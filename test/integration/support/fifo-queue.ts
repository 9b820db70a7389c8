import type { SQSRecord } from 'aws-lambda';

/**
 * An in-memory SQS FIFO queue that behaves as AWS does where it matters here (the local queue does
 * not): a receive returns up to 10 messages, all of the first message group that has none in
 * flight; every receive counts; a message stays invisible until its visibility timeout (or a
 * ChangeMessageVisibility) runs out; sends with a deduplication id seen in the last 5 minutes of
 * its group are dropped. Time is the caller's clock, so hours of retries take no time.
 */
interface Message {
  readonly id: string;
  readonly group: string;
  readonly body: string;
  readonly sentAt: number;
  receives: number;
  invisibleUntil: number;
  receipt?: string;
}

export class SimulatedFifoQueue {
  private readonly messages: Message[] = [];
  private readonly dedup = new Map<string, number>();
  private sequence = 0;
  /** The most messages any group held at once. */
  maxDepthPerGroup = 0;

  constructor(
    private readonly clock: () => number,
    private readonly visibilityTimeoutSeconds = 180,
  ) {}

  send(group: string, body: string, deduplicationId: string): void {
    const now = this.clock();
    const key = `${group}/${deduplicationId}`;
    if ((this.dedup.get(key) ?? -Infinity) > now - 300_000) return;
    this.dedup.set(key, now);
    this.messages.push({ id: `m-${++this.sequence}`, group, body, sentAt: now, receives: 0, invisibleUntil: 0 });
    this.maxDepthPerGroup = Math.max(this.maxDepthPerGroup, this.depth(group));
  }

  depth(group: string): number {
    return this.messages.filter((m) => m.group === group).length;
  }

  /** Up to `max` messages of the first group with nothing in flight, in order. */
  receive(max = 10): SQSRecord[] {
    const now = this.clock();
    const inFlight = new Set(this.messages.filter((m) => m.invisibleUntil > now).map((m) => m.group));
    const first = this.messages.find((m) => !inFlight.has(m.group));
    if (!first) return [];
    const batch = this.messages.filter((m) => m.group === first.group).slice(0, max);
    return batch.map((m) => {
      m.receives++;
      m.invisibleUntil = now + this.visibilityTimeoutSeconds * 1000;
      m.receipt = `${m.id}#${m.receives}`;
      return record(m);
    });
  }

  /** When the next message becomes visible (for advancing the clock), if any is waiting. */
  nextVisibleAt(): number | undefined {
    const times = this.messages.map((m) => m.invisibleUntil);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  changeVisibility(receiptHandle: string, seconds: number): void {
    const message = this.messages.find((m) => m.receipt === receiptHandle);
    if (message) message.invisibleUntil = this.clock() + seconds * 1000;
  }

  delete(receiptHandle: string): void {
    const index = this.messages.findIndex((m) => m.receipt === receiptHandle);
    if (index >= 0) this.messages.splice(index, 1);
  }
}

function record(m: Message): SQSRecord {
  return {
    messageId: m.id,
    receiptHandle: m.receipt!,
    body: m.body,
    attributes: {
      ApproximateReceiveCount: String(m.receives),
      SentTimestamp: String(m.sentAt),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(m.sentAt),
      MessageGroupId: m.group,
      MessageDeduplicationId: m.id,
      SequenceNumber: m.id,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:deliveries.fifo',
    awsRegion: 'us-east-1',
  };
}
