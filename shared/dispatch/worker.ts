import { unsentFor } from '../deliveries/held';
import type { UnsentStatus } from '../deliveries/store';
import { truncateResponse, type Attempt, type Delivery } from '../deliveries/model';
import { liveSigningSecrets, type Webhook, type WebhookWithCredentials } from '../webhooks/model';
import { deliveryHeaders, envelopeBody, type DeliveryAuth } from '../events/envelope';
import type { AttemptOutcome, SendOptions, WebhookRequest } from './http-sender';
import type { DeliveryOutcomes } from './outcome-recorder';
import { nextRetry } from './retry-policy';

/**
 * One delivery, as Svix's worker: prepare (is the webhook still active?) → call (one HTTP attempt)
 * → handle (record the attempt in the delivery, then done, retry later, or give up and disable).
 * The drain (`drain.ts`) calls it for each due delivery of a webhook's backlog, in order, and hands
 * it the drain's recorder (`outcome-recorder.ts`), through which every outcome is written.
 */
export type AttemptResult =
  | { readonly action: 'done'; readonly note?: string; readonly disabledWebhook?: boolean }
  | { readonly action: 'retry'; readonly delaySeconds: number; readonly nextAttemptAt: string };

export interface WorkerSettings {
  readonly retryDelaysSeconds: readonly number[];
  readonly retryWindowSeconds: number;
  readonly allowPrivateTargets: boolean;
}

export interface WorkerDependencies {
  readonly send: (request: WebhookRequest, options: SendOptions) => Promise<AttemptOutcome>;
  /** Disables the webhook (unless it was no longer active) and announces it. */
  readonly disableWebhook: (webhook: Webhook, reason: string, delivery: Delivery) => Promise<void>;
  /** Announces, once per failing head delivery, that it has failed for half of the retry window. */
  readonly announceFailing?: (webhook: Webhook, delivery: Delivery, notice: { failingSince: string; disablesAt: string; lastError: string }) => Promise<void>;
  readonly onAttempt?: (outcome: AttemptOutcome) => void;
  readonly settings: WorkerSettings;
  readonly now?: () => Date;
}

export class DeliveryWorker {
  private readonly now: () => Date;

  constructor(private readonly deps: WorkerDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Attempts one PENDING delivery of `webhook` (undefined: deleted): prepare → call → handle. */
  async attempt(webhook: WebhookWithCredentials | undefined, delivery: Delivery, outcomes: DeliveryOutcomes): Promise<AttemptResult> {
    const prepared = prepare(webhook);
    if (!prepared.ready) {
      await outcomes.finishUnsent(delivery, prepared.status, prepared.reason);
      return { action: 'done', note: prepared.reason };
    }
    const call = await callListener(this.deps.send, prepared.webhook, delivery, this.now(), { allowPrivate: this.deps.settings.allowPrivateTargets });
    this.deps.onAttempt?.(call.outcome);
    return this.handle(prepared.webhook, delivery, call, outcomes);
  }

  /** Step 3: records the attempt in the delivery, then done, retry later, or give up and disable the webhook. */
  async handle(webhook: WebhookWithCredentials, delivery: Delivery, { outcome, attempt }: ListenerCall, outcomes: DeliveryOutcomes): Promise<AttemptResult> {
    const { settings } = this.deps;
    if (outcome.ok) {
      await outcomes.recordAttempt(delivery, attempt, { status: 'SUCCEEDED' });
      return { action: 'done' };
    }

    // 410 Gone: the listener says the endpoint is no more (Standard Webhooks); no retry.
    if (outcome.statusCode === 410) return this.giveUp(webhook, delivery, attempt, 'the listener answered 410 Gone', outcomes);

    const decision = nextRetry({
      attempt: attempt.number,
      firstArrivedAt: delivery.firstArrivedAt,
      now: this.now().getTime(),
      ...(outcome.retryAfterSeconds !== undefined && { retryAfterSeconds: outcome.retryAfterSeconds }),
      delaysSeconds: settings.retryDelaysSeconds,
      windowSeconds: settings.retryWindowSeconds,
    });
    if (decision.retry) {
      const nextAttemptAt = new Date(decision.nextAttemptAt).toISOString();
      const updated = await outcomes.recordAttempt(delivery, attempt, { status: 'PENDING', nextAttemptAt });
      await this.announceIfHalfway(webhook, delivery, updated, outcome.error ?? 'unknown');
      return { action: 'retry', delaySeconds: decision.delaySeconds, nextAttemptAt };
    }
    return this.giveUp(webhook, delivery, attempt, `gave up after ${attempt.number} attempts: ${decision.reason}; last error: ${outcome.error ?? 'unknown'}`, outcomes);
  }

  private async giveUp(webhook: Webhook, delivery: Delivery, attempt: Attempt, reason: string, outcomes: DeliveryOutcomes): Promise<AttemptResult> {
    const failed = await outcomes.recordAttempt(delivery, attempt, { status: 'FAILED', statusReason: reason });
    await this.deps.disableWebhook(webhook, `delivery ${delivery.id} failed: ${reason}`, failed);
    return { action: 'done', note: reason, disabledWebhook: true };
  }

  /**
   * The attempt just recorded is the first at or past half of the delivery's retry window: the
   * one moment per failing head to warn (a redeliver starts a fresh window, and may warn again).
   */
  private async announceIfHalfway(webhook: Webhook, before: Delivery, after: Delivery, lastError: string): Promise<void> {
    const windowMs = this.deps.settings.retryWindowSeconds * 1000;
    const halfway = before.firstArrivedAt + windowMs / 2;
    const previousAt = before.attempts.length > 0 ? Date.parse(before.attempts[before.attempts.length - 1]!.at) : before.firstArrivedAt;
    const latestAt = Date.parse(after.attempts[after.attempts.length - 1]!.at);
    if (!this.deps.announceFailing || previousAt >= halfway || latestAt < halfway) return;
    await this.deps.announceFailing(webhook, after, {
      failingSince: new Date(before.firstArrivedAt).toISOString(),
      disablesAt: new Date(before.firstArrivedAt + windowMs).toISOString(),
      lastError,
    });
  }
}

/** Step 1: only an active webhook is called; otherwise how its delivery ends unsent (see ../deliveries/held.ts). */
export function prepare(
  webhook: WebhookWithCredentials | undefined,
): { readonly ready: true; readonly webhook: WebhookWithCredentials } | { readonly ready: false; readonly status: UnsentStatus; readonly reason: string } {
  const unsent = unsentFor(webhook);
  // DISABLED: held until re-enabled; INACTIVE or deleted: skipped.
  if (unsent || !webhook) return { ready: false, ...(unsent ?? { status: 'SKIPPED', reason: 'webhook was deleted' }) };
  return { ready: true, webhook };
}

/** What one call to the listener gave: the sender's outcome and the attempt to record. */
export interface ListenerCall {
  readonly outcome: AttemptOutcome;
  readonly attempt: Attempt;
}

/** Step 2: one signed HTTP attempt at the listener (also `POST /webhooks/{id}/test`'s request). */
export async function callListener(
  send: (request: WebhookRequest, options: SendOptions) => Promise<AttemptOutcome>,
  webhook: WebhookWithCredentials,
  delivery: Pick<Delivery, 'id' | 'accountId' | 'events' | 'replayOf' | 'attemptCount'>,
  at: Date,
  options: SendOptions,
): Promise<ListenerCall> {
  const outcome = await send(buildRequest(webhook, delivery, at), options);
  return { outcome, attempt: attemptFrom(delivery.attemptCount + 1, at, outcome) };
}

/** The signed (or Basic-authenticated) POST for one attempt; `webhook-id` is the delivery id (a replay's: the original's). */
function buildRequest(webhook: WebhookWithCredentials, delivery: Pick<Delivery, 'id' | 'accountId' | 'events' | 'replayOf'>, at: Date): WebhookRequest {
  const body = envelopeBody(delivery.accountId, delivery.events);
  const headers = deliveryHeaders({
    // A replay's copy goes out as the original delivery, marked as a replay.
    messageId: delivery.replayOf?.deliveryId ?? delivery.id,
    timestampSeconds: Math.floor(at.getTime() / 1000),
    body,
    auth: authOf(webhook, at),
    ...(delivery.replayOf && { replayId: delivery.replayOf.replayId }),
  });
  return { url: webhook.targetUrl, headers, body };
}

function authOf(webhook: WebhookWithCredentials, at: Date): DeliveryAuth {
  switch (webhook.authType) {
    case 'NONE':
      return { type: 'NONE' };
    case 'BASIC':
      return { type: 'BASIC', username: webhook.credentials.basic?.username ?? '', password: webhook.credentials.basic?.password ?? '' };
    case 'SIGNATURE':
      return { type: 'SIGNATURE', secrets: liveSigningSecrets(webhook, at) };
  }
}

function attemptFrom(number: number, at: Date, outcome: AttemptOutcome): Attempt {
  const responseBody = truncateResponse(outcome.responseBody);
  return {
    number,
    at: at.toISOString(),
    durationMs: Math.round(outcome.durationMs),
    ...(outcome.statusCode !== undefined && { statusCode: outcome.statusCode }),
    ...(outcome.error !== undefined && { error: outcome.error }),
    ...(responseBody && { responseBody }),
  };
}
