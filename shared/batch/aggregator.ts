import { createHash } from 'node:crypto';
import type { DeliveryBacklog, NewDelivery } from '../deliveries/backlog';
import { unsentFor } from '../deliveries/held';
import { chunkForBatches, type LmsEvent } from '../events/envelope';
import type { Webhook } from '../webhooks/model';
import { parseScheduleExpression } from '../schedule';
import type { DueWebhook, Lease, PendingEvent, PendingStore } from './pending-store';

/**
 * The scheduled batch flush. Each run finds the webhooks with pending batch events, takes each
 * one's lease (so overlapping runs never work on the same backlog), packs the backlog in order into
 * ALM envelopes of at most `maxEvents` events and 256 KB, and writes each one into the webhook's
 * delivery backlog — the same path, auth, signing, log, retries and ordering as real-time events.
 * Events of a webhook that is disabled at the flush become HELD deliveries (sent when it is
 * re-enabled), of one that is inactive SKIPPED deliveries (redeliverable), as in real time. Events leave the store only after their delivery is written: a
 * crash in between writes the same chunk again, which its deterministic id makes one delivery.
 * A run that runs out of time hands the rest to a continuation run.
 */
export const BATCH_MAX_BYTES = 256 * 1024;

/** Continuations a scheduled run may chain before the next scheduled run takes over. */
export const MAX_CONTINUATIONS = 20;
/** Time kept back at the end of an invocation for the last request in flight and the lease release. */
const STOP_MARGIN_MS = 30_000;
/** Leases outlive the invocation by this much, so clock skew between runs cannot overlap two holders. */
const LEASE_SKEW_MS = 30_000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_PAGE_SIZE = 1000;

export interface AggregatorDependencies {
  readonly store: PendingStore;
  readonly webhooks: { get(accountId: number, webhookId: string): Promise<Webhook | undefined> };
  readonly backlog: Pick<DeliveryBacklog, 'enqueue'>;
  /** BATCH_SCHEDULE, recorded with each run that has work so the API can tell when the next flush is due. */
  readonly scheduleExpression: string;
  readonly maxEvents: number;
  /** Starts a continuation run (an event to this same function). */
  readonly continueLater: (next: ScheduledFlush) => Promise<void>;
  readonly maxBytes?: number;
  /** Webhooks flushed at once; each webhook's own backlog is always sent serially, in order. */
  readonly concurrency?: number;
  readonly pageSize?: number;
  readonly now?: () => number;
  readonly onWebhookFailure?: (webhookId: string, error: unknown) => void;
}

/** One run of the schedule: the time it fired, and how many continuations led here. */
export interface ScheduledFlush {
  readonly firedAt: number;
  readonly generation: number;
}

export interface FlushInvocation extends ScheduledFlush {
  /** Unique per invocation: the lease owner. */
  readonly runId: string;
  /** What the invocation has left (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingMs: number;
}

export interface FlushReport {
  readonly dueWebhooks: number;
  readonly flushedEvents: number;
  /** Deliveries written to the backlog: one request each. */
  readonly requests: number;
  /** Events of webhooks that were inactive (logged SKIPPED) or disabled (logged HELD) at the flush: not sent now. */
  readonly skippedEvents: number;
  /** Events of webhooks deleted before the flush: there is no log to keep them in. */
  readonly droppedEvents: number;
  /** Webhooks another run was flushing. */
  readonly busyWebhooks: number;
  readonly failedWebhooks: number;
  /** Time ran out with work left. */
  readonly unfinished: boolean;
  readonly continued: boolean;
}

interface Window {
  readonly runId: string;
  readonly stopAt: number;
  readonly leaseUntil: number;
  /** Parsed once per run, for holding back a burst's trailing request. */
  readonly schedulePeriodMs: number;
}

interface WebhookOutcome {
  flushed: number;
  requests: number;
  skipped: number;
  dropped: number;
  /** `settling`: the trailing part-full request waits for the burst still arriving. */
  state: 'drained' | 'unfinished' | 'settling' | 'busy' | 'failed';
}

/** The schedule's period; a cron schedule counts as one that settles for the longest wait. */
export function schedulePeriodMs(scheduleExpression: string): number {
  const schedule = parseScheduleExpression(scheduleExpression, { allowSeconds: true });
  return schedule.kind === 'rate' ? schedule.everyMs : 2 * MAX_SETTLE_MS;
}

/** The longest a trailing part-full request waits for more events of a burst still arriving. */
const MAX_SETTLE_MS = 30_000;

/**
 * A burst that is still arriving when the schedule fires would be cut into part-full requests at
 * every tick. So the trailing part-full request waits while its newest event is younger than one
 * period (at most 30 s) — but never once its oldest event has waited two periods, so a slow trickle
 * is at most one schedule period late.
 */
export function holdsBackTail(tail: readonly PendingEvent[], maxEvents: number, periodMs: number, now: number): boolean {
  if (tail.length === 0 || tail.length >= maxEvents) return false;
  const settleMs = Math.min(periodMs, MAX_SETTLE_MS);
  const newest = Math.max(...tail.map((e) => e.arrivedAt));
  const oldest = Math.min(...tail.map((e) => e.arrivedAt));
  return now - newest < settleMs && now - oldest < 2 * periodMs;
}

/** Flushes every due webhook's backlog within the invocation's time, then continues if work is left. */
export async function flushDueWebhooks(deps: AggregatorDependencies, invocation: FlushInvocation): Promise<FlushReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const window: Window = {
    runId: invocation.runId,
    stopAt: started + invocation.remainingMs - Math.min(STOP_MARGIN_MS, invocation.remainingMs / 10),
    leaseUntil: started + invocation.remainingMs + LEASE_SKEW_MS,
    schedulePeriodMs: schedulePeriodMs(deps.scheduleExpression),
  };
  const due = await deps.store.dueWebhooks();
  const report = { dueWebhooks: due.length, flushedEvents: 0, requests: 0, skippedEvents: 0, droppedEvents: 0, busyWebhooks: 0, failedWebhooks: 0, unfinished: false, continued: false };
  // Nothing pending: no writes at all.
  if (due.length === 0) return report;
  if (invocation.generation === 0) await deps.store.recordRun({ expression: deps.scheduleExpression, firedAt: invocation.firedAt });

  const queue = due.filter((d) => d.leaseUntil === undefined || d.leaseUntil < started);
  report.busyWebhooks = due.length - queue.length;
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      if (now() >= window.stopAt) {
        report.unfinished = true;
        return;
      }
      const outcome = await flushWebhook(deps, window, next);
      report.flushedEvents += outcome.flushed;
      report.requests += outcome.requests;
      report.skippedEvents += outcome.skipped;
      report.droppedEvents += outcome.dropped;
      if (outcome.state === 'busy') report.busyWebhooks++;
      if (outcome.state === 'failed') report.failedWebhooks++;
      if (outcome.state === 'unfinished') report.unfinished = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency ?? DEFAULT_CONCURRENCY, queue.length) }, worker));

  const progressed = report.flushedEvents + report.skippedEvents + report.droppedEvents > 0;
  if (report.unfinished && progressed && invocation.generation < MAX_CONTINUATIONS) {
    await deps.continueLater({ firedAt: invocation.firedAt, generation: invocation.generation + 1 });
    report.continued = true;
  }
  return report;
}

async function flushWebhook(deps: AggregatorDependencies, window: Window, due: DueWebhook): Promise<WebhookOutcome> {
  const now = deps.now ?? Date.now;
  const outcome: WebhookOutcome = { flushed: 0, requests: 0, skipped: 0, dropped: 0, state: 'unfinished' };
  let lease: Lease | undefined;
  try {
    lease = await deps.store.acquireLease(due.webhookId, window.runId, window.leaseUntil);
    if (!lease) return { ...outcome, state: 'busy' };
    const webhook = await deps.webhooks.get(lease.accountId, lease.webhookId);
    // Disabled at the flush: held until re-enabled; inactive: logged SKIPPED (redeliverable). Not sent.
    const unsent = webhook && unsentFor(webhook);
    let carried: PendingEvent[] = [];
    let settling = false;
    let after: string | undefined;
    while (now() < window.stopAt) {
      const page = await deps.store.read(lease.webhookId, { limit: deps.pageSize ?? DEFAULT_PAGE_SIZE, ...(after !== undefined && { after }) });
      const last = page.nextKey === undefined;
      if (!webhook) {
        await deps.store.remove(lease, page.items);
        outcome.dropped += page.items.length;
      } else {
        const chunks = chunk(deps, webhook.accountId, [...carried, ...page.items]);
        // The last chunk of a page may still fill up from the next page, or, at the end of the
        // backlog, from events still arriving.
        carried = last ? [] : (chunks.pop() ?? []);
        if (last && !unsent && holdsBackTail(chunks[chunks.length - 1] ?? [], deps.maxEvents, window.schedulePeriodMs, now())) {
          chunks.pop();
          settling = true;
        }
        for (const events of chunks) {
          if (now() >= window.stopAt) return outcome;
          await write(deps, webhook, lease, events, unsent);
          if (unsent) outcome.skipped += events.length;
          else outcome.flushed += events.length;
          outcome.requests++;
        }
      }
      if (last) {
        outcome.state = settling ? 'settling' : 'drained';
        break;
      }
      after = page.nextKey;
    }
    return outcome;
  } catch (error) {
    deps.onWebhookFailure?.(due.webhookId, error);
    return { ...outcome, state: 'failed' };
  } finally {
    // A failed release only delays the next flush of this webhook until the lease expires.
    if (lease) await deps.store.releaseLease(lease, outcome.state === 'drained').catch((error: unknown) => deps.onWebhookFailure?.(due.webhookId, error));
  }
}

/** Request-sized chunks in order; each keeps its store entries, which are deleted once it is written. */
function chunk(deps: AggregatorDependencies, accountId: number, pending: readonly PendingEvent[]): PendingEvent[][] {
  const entryOf = new Map<LmsEvent, PendingEvent>(pending.map((p) => [p.event, p]));
  const chunks = chunkForBatches(
    pending.map((p) => p.event),
    { maxEvents: deps.maxEvents, maxBytes: deps.maxBytes ?? BATCH_MAX_BYTES, accountId },
  );
  return chunks.map((events) => events.map((event) => entryOf.get(event)!));
}

async function write(deps: AggregatorDependencies, webhook: Webhook, lease: Lease, entries: readonly PendingEvent[], unsent?: NewDelivery['unsent']): Promise<void> {
  const events = entries.map((e) => e.event);
  const delivery = {
    webhook,
    kind: 'batch' as const,
    // The same chunk written again (a run that stopped before deleting it) is one delivery.
    idempotencyKey: `batch:${createHash('sha256').update(events.map((e) => e.eventId).join('\n')).digest('base64url')}`,
    arrivedAt: Math.min(...entries.map((e) => e.arrivedAt)),
  };
  try {
    await deps.backlog.enqueue({ ...delivery, events, ...(unsent && { unsent }) });
  } catch (error) {
    // DynamoDB refuses the item itself: retrying would block the webhook's batch events behind it
    // for good. It is logged FAILED with the reason, its events listed by id, and the flush goes on.
    if ((error as Error).name !== 'ValidationException') throw error;
    const reason = `the request could not be stored (${(error as Error).message.slice(0, 200)}); its events are listed without their data`;
    await deps.backlog.enqueue({ ...delivery, events: events.map((e) => ({ ...e, data: {} })), unsent: { status: 'FAILED', reason } });
  }
  await deps.store.remove(lease, entries);
}
