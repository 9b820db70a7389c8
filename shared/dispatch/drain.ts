import { cursorAfter, progressTag, type BacklogState, type BacklogStateStore, type Progress, type StateChange } from '../deliveries/backlog';
import type { HealthCounters } from '../deliveries/health';
import type { Doorbell } from '../deliveries/model';
import type { ReplayStore } from '../deliveries/replay';
import type { DeliveryStore } from '../deliveries/store';
import type { WebhookWithCredentials } from '../webhooks/model';
import { OutcomeRecorder } from './outcome-recorder';
import type { DeliveryWorker } from './worker';

/**
 * Answers a webhook's doorbell: reads the head of its backlog in order (a page per Query, from the
 * cursor), sends serially, and stops at the first delivery that is not due yet — keeping the
 * doorbell until it is — or when time runs out, handing the doorbell back. A drained backlog
 * clears the doorbell, unless something was written meanwhile; then it goes on.
 *
 * A drain that keeps dying on the same head (the function crashes or times out while sending it)
 * is recognised from the progress recorded in the state item, not from how often a message came
 * back: after `maxReceivesWithoutProgress` receives of one doorbell with no progress, the head is
 * failed with the reason, and the backlog behind it flows.
 *
 * Outcomes go through one recorder per drain (`outcome-recorder.ts`): successes are written 25 at a
 * time, and whatever it holds is written before the state is saved and before the drain ends.
 */
export interface DrainDependencies {
  readonly deliveries: DeliveryStore;
  readonly state: BacklogStateStore;
  readonly worker: DeliveryWorker;
  /**
   * The webhook (credentials opened) and its backlog state, read fresh (strongly consistent) for
   * every page: a webhook switched off a moment ago gets no further request.
   */
  readonly readWebhookAndState: (accountId: number, webhookId: string) => Promise<{ webhook?: WebhookWithCredentials; state?: BacklogState }>;
  readonly maxReceivesWithoutProgress: number;
  /** Queues the next page of an unfinished replay when the backlog runs dry, and counts its copies' ends. */
  readonly replays?: Pick<ReplayStore, 'continueFor' | 'recordOutcome'>;
  /** The webhook's health counters, added to once per flush of the drain's outcomes. */
  readonly health?: Pick<HealthCounters, 'recordAttempts'>;
  /** Deliveries read per Query. @default 50 */
  readonly pageSize?: number;
  readonly now?: () => Date;
}

export type DrainResult =
  | { readonly outcome: 'drained'; readonly attempted: number }
  /** The head is due in `seconds`: keep the doorbell that long. */
  | { readonly outcome: 'held'; readonly seconds: number; readonly attempted: number }
  /** Out of time with work left: give the doorbell back now. */
  | { readonly outcome: 'handed-back'; readonly attempted: number };

const DEFAULT_PAGE_SIZE = 50;

export async function drainBacklog(deps: DrainDependencies, doorbell: Doorbell, receipt: Progress, hasTime: () => boolean): Promise<DrainResult> {
  const outcomes = new OutcomeRecorder(deps, doorbell.webhookId);
  try {
    return await drainWith(outcomes, deps, doorbell, receipt, hasTime);
  } catch (error) {
    // What was sent is recorded before the error goes up, so the next drain does not send it again.
    await outcomes.flush();
    throw error;
  }
}

async function drainWith(outcomes: OutcomeRecorder, deps: DrainDependencies, doorbell: Doorbell, receipt: Progress, hasTime: () => boolean): Promise<DrainResult> {
  const now = deps.now ?? (() => new Date());
  const pageSize = deps.pageSize ?? DEFAULT_PAGE_SIZE;
  let attempted = 0;
  for (;;) {
    const read = await deps.readWebhookAndState(doorbell.accountId, doorbell.webhookId);
    const state: BacklogState = read.state ?? { webhookId: doorbell.webhookId, accountId: doorbell.accountId, seq: 0 };
    const sinceProgress = receipt.receiveCount - (state.progressTag === progressTag(receipt.messageId) ? (state.progressReceives ?? 0) : 0);
    let crashLooping = sinceProgress > deps.maxReceivesWithoutProgress;
    const { items: page, more } = await deps.deliveries.backlogPage(doorbell.webhookId, state.cursor ?? '', pageSize);
    let webhook = read.webhook;
    let cursor = state.cursor;
    let change: StateChange | undefined;
    let handBack = false;
    for (const delivery of page) {
      if (delivery.status !== 'PENDING') {
        cursor = cursorAfter(delivery.id);
        continue;
      }
      if (crashLooping) {
        const reason = `the delivery function stopped ${sinceProgress} times while sending it; redeliver it once the cause is fixed`;
        await outcomes.finishUnsent(delivery, 'FAILED', reason);
        crashLooping = false;
        cursor = cursorAfter(delivery.id);
        continue;
      }
      if (delivery.nextAttemptAt !== undefined && Date.parse(delivery.nextAttemptAt) > now().getTime()) {
        change = { kind: 'hold', wakeAt: delivery.nextAttemptAt };
        break;
      }
      if (!hasTime()) {
        change = { kind: 'advance' };
        handBack = true;
        break;
      }
      const result = await deps.worker.attempt(webhook, delivery, outcomes);
      attempted++;
      if (result.action === 'retry') {
        change = { kind: 'hold', wakeAt: result.nextAttemptAt };
        break;
      }
      cursor = cursorAfter(delivery.id);
      if (result.disabledWebhook) webhook = (await deps.readWebhookAndState(doorbell.accountId, doorbell.webhookId)).webhook;
    }
    await outcomes.flush();
    // The backlog's end with a replay still being queued: queue its next page, and go on.
    const replaying = state.replaysQueuing?.[0];
    if (change === undefined && !more && replaying !== undefined && deps.replays && hasTime()) {
      await deps.replays.continueFor(doorbell.accountId, doorbell.webhookId, replaying, hasTime);
      change = { kind: 'advance' };
    }
    // Only a page DynamoDB ended without a key is the backlog's end: 1 MB cuts pages short of the limit.
    change ??= more ? { kind: 'advance' } : { kind: 'clear' };
    // Written to meanwhile: look again from the recorded cursor (finished deliveries are passed over).
    if (!(await deps.state.save(state, cursor, change, receipt))) continue;
    if (handBack) return { outcome: 'handed-back', attempted };
    if (change.kind === 'clear') return { outcome: 'drained', attempted };
    if (change.kind === 'hold') return { outcome: 'held', seconds: Math.max(0, Math.ceil((Date.parse(change.wakeAt) - now().getTime()) / 1000)), attempted };
  }
}
