import type { SQSRecord } from 'aws-lambda';

/**
 * After a FIFO batch: the messages that failed unprocessed because an earlier message of their
 * group failed (skipGroupOnError). They get the same visibility delay as that group's head, so the
 * group comes back whole, in order, when the head's retry is due — not after the queue's timeout.
 */
export function heldBehindGroupHead(
  records: readonly SQSRecord[],
  failedIds: ReadonlySet<string>,
  delayByGroup: ReadonlyMap<string, number>,
): { id: string; receiptHandle: string; seconds: number }[] {
  const headSeen = new Set<string>();
  const held: { id: string; receiptHandle: string; seconds: number }[] = [];
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? '';
    const seconds = delayByGroup.get(group);
    if (!failedIds.has(record.messageId) || seconds === undefined) continue;
    if (!headSeen.has(group)) {
      headSeen.add(group);
      continue;
    }
    held.push({ id: record.messageId, receiptHandle: record.receiptHandle, seconds });
  }
  return held;
}
