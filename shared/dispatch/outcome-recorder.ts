import type { AttemptMark, HealthCounters } from '../deliveries/health';
import type { Attempt, Delivery } from '../deliveries/model';
import type { ReplayStore } from '../deliveries/replay';
import { withAttempt, type AttemptOutcomeChange, type DeliveryStore, type UnsentStatus } from '../deliveries/store';
import { WRITE_BATCH } from '../storage/batch-io';

/**
 * The outcomes of one drain of one webhook's backlog, written a page at a time. A success's record
 * (the delivery SUCCEEDED, its attempt appended) is buffered and written with the others by
 * BatchWriteItem when 25 are waiting, before any other write for the webhook, and before the drain
 * ends; the attempts' health counts go in one update per flush. Every other outcome (a retry, a
 * give-up, a delivery ended unsent) is written at once, conditionally, after the buffer.
 *
 * The buffered puts are unconditional: only one drain of a webhook runs at a time (the doorbell is
 * its FIFO group's one message), so no other drain moves these deliveries meanwhile (a redeliver of
 * one being sent asks for what the put records: it was sent). A crash before the flush loses only
 * the records: the next drain sends the page again — at-least-once, as promised, and listeners
 * dedupe on `webhook-id`.
 */
export interface OutcomeRecorderDependencies {
  readonly deliveries: Pick<DeliveryStore, 'recordAttempt' | 'finishUnsent' | 'putAll'>;
  readonly health?: Pick<HealthCounters, 'recordAttempts'>;
  /** Counts each finished replay copy in its replay's progress. */
  readonly replays?: Pick<ReplayStore, 'recordOutcome'>;
}

/** The writes the worker makes for one delivery, through its drain's recorder. */
export type DeliveryOutcomes = Pick<OutcomeRecorder, 'recordAttempt' | 'finishUnsent'>;

export class OutcomeRecorder implements DeliveryOutcomes {
  private succeeded: Delivery[] = [];
  private attempts: AttemptMark[] = [];

  constructor(
    private readonly deps: OutcomeRecorderDependencies,
    private readonly webhookId: string,
  ) {}

  /** Records an attempt: a success is buffered (and returned as it will be written); anything else is written now. */
  async recordAttempt(delivery: Delivery, attempt: Attempt, next: AttemptOutcomeChange): Promise<Delivery> {
    const ok = next.status === 'SUCCEEDED';
    if (ok) {
      const updated = withAttempt(delivery, attempt, next);
      this.succeeded.push(updated);
      this.attempts.push({ ok, at: new Date(attempt.at) });
      if (this.succeeded.length >= WRITE_BATCH) await this.flush();
      return updated;
    }
    await this.flush();
    const updated = await this.deps.deliveries.recordAttempt(delivery, attempt, next);
    this.attempts.push({ ok, at: new Date(attempt.at) });
    if (next.status === 'FAILED' && delivery.replayOf) await this.deps.replays?.recordOutcome(delivery, 'failed');
    return updated;
  }

  /** Ends a delivery unsent, after the successes before it. */
  async finishUnsent(delivery: Delivery, status: UnsentStatus, reason: string): Promise<void> {
    await this.flush();
    await this.deps.deliveries.finishUnsent(delivery, status, reason);
  }

  /**
   * Writes what is buffered: the successes' records, then the replay copies among them, then the
   * attempts' health counts. Records that fail to be written stay buffered, with the counts, for
   * the next flush (the drain makes one more before its error goes up).
   */
  async flush(): Promise<void> {
    const written = this.succeeded;
    if (written.length > 0) await this.deps.deliveries.putAll(written);
    this.succeeded = [];
    for (const copy of written) if (copy.replayOf) await this.deps.replays?.recordOutcome(copy, 'sent');
    if (this.attempts.length > 0) await this.deps.health?.recordAttempts(this.webhookId, this.attempts);
    this.attempts = [];
  }
}
