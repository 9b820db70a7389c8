import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { DoorbellSchema } from '../../shared/deliveries/model';
import type { DoorbellQueue } from '../../shared/deliveries/queue';
import { drainBacklog, type DrainDependencies } from '../../shared/dispatch/drain';

export interface DoorbellBatchDependencies {
  readonly drain: DrainDependencies;
  readonly queue: Pick<DoorbellQueue, 'hold' | 'delete' | 'deadLetter'>;
  /** Whether there is time left for one more attempt. */
  readonly hasTime: () => boolean;
  readonly onDeadLetter?: (messageId: string) => void;
  readonly onDrainError?: (messageId: string, error: unknown) => void;
  readonly onDeleteError?: (messageId: string, error: unknown) => void;
}

/**
 * A batch of doorbells from the delivery queue: the webhooks drain concurrently, each serially and
 * in order. A doorbell whose head waits for a retry is held (its visibility timeout) until then;
 * one whose drain ran out of time is handed back at once; one whose drain failed comes back after
 * the visibility timeout and resumes from the recorded cursor. A FIFO receive may return several
 * messages of one group (a redeliver or the sweeper rang while one was out): the first one's drain
 * covers the others, which are simply deleted.
 *
 * A drained webhook's messages are deleted as soon as its drain ends, not when the batch returns
 * (Lambda's deletes): its group would stay locked meanwhile, and its next events would wait for the
 * slowest webhook of the batch. They are still reported as successes.
 */
export async function answerDoorbells(records: readonly SQSRecord[], deps: DoorbellBatchDependencies): Promise<SQSBatchResponse> {
  const byGroup = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    byGroup.set(group, [...(byGroup.get(group) ?? []), record]);
  }

  const answer = async ([record, ...covered]: SQSRecord[]): Promise<SQSBatchItemFailure | undefined> => {
    const parsed = DoorbellSchema.safeParse(safeJson(record.body));
    if (!parsed.success) {
      await deps.queue.deadLetter(record.body, record.attributes.MessageGroupId ?? 'unknown', record.messageId, 'not a doorbell message');
      deps.onDeadLetter?.(record.messageId);
      return undefined;
    }
    const receipt = { messageId: record.messageId, receiveCount: Number(record.attributes.ApproximateReceiveCount) };
    const result = await drainBacklog(deps.drain, parsed.data, receipt, deps.hasTime);
    if (result.outcome === 'drained') {
      // A failed delete leaves the message to Lambda's delete when the batch returns.
      await Promise.all([record, ...covered].map((r) => deps.queue.delete(r.receiptHandle).catch((error: unknown) => deps.onDeleteError?.(r.messageId, error))));
      return undefined;
    }
    await deps.queue.hold(record.receiptHandle, result.outcome === 'held' ? result.seconds : 0);
    return { itemIdentifier: record.messageId };
  };

  const failures = await Promise.all(
    [...byGroup.values()].map((group) =>
      answer(group).catch((error: unknown) => {
        const record = group[0]!;
        deps.onDrainError?.(record.messageId, error);
        return { itemIdentifier: record.messageId };
      }),
    ),
  );
  return { batchItemFailures: failures.filter((f): f is SQSBatchItemFailure => f !== undefined) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
