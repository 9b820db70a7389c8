import type { DeliveryRepository } from '../deliveries/repository';
import { truncateResponse, type Attempt, type Delivery } from '../deliveries/model';
import { liveSigningSecrets, type Webhook, type WebhookWithCredentials } from '../webhooks/model';
import { deliveryHeaders, envelopeBody, type DeliveryAuth } from './envelope';
import type { AttemptOutcome, SendOptions, WebhookRequest } from './http-sender';
import { nextRetry } from './retry-policy';

/**
 * One delivery, as Svix's worker: prepare (is the webhook still active?) → call (one HTTP attempt)
 * → handle (record the attempt in the delivery, then done, retry later, or give up and disable).
 * The drain (`drain.ts`) calls it for each due delivery of a webhook's backlog, in order.
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
  readonly deliveries: DeliveryRepository;
  readonly send: (request: WebhookRequest, options: SendOptions) => Promise<AttemptOutcome>;
  /** Disables the webhook (unless it was no longer active) and announces it. */
  readonly disableWebhook: (webhook: Webhook, reason: string, delivery: Delivery) => Promise<void>;
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
  async attempt(webhook: WebhookWithCredentials | undefined, delivery: Delivery): Promise<AttemptResult> {
    const prepared = prepare(webhook);
    if (!prepared.ready) {
      await this.deps.deliveries.finishUnsent(delivery, 'SKIPPED', prepared.reason);
      return { action: 'done', note: prepared.reason };
    }
    const call = await callListener(this.deps.send, prepared.webhook, delivery, this.now(), { allowPrivate: this.deps.settings.allowPrivateTargets });
    this.deps.onAttempt?.(call.outcome);
    return this.handle(prepared.webhook, delivery, call);
  }

  /** Step 3: records the attempt in the delivery, then done, retry later, or give up and disable the webhook. */
  async handle(webhook: WebhookWithCredentials, delivery: Delivery, { outcome, attempt }: ListenerCall): Promise<AttemptResult> {
    const { deliveries, settings } = this.deps;
    if (outcome.ok) {
      await deliveries.recordAttempt(delivery, attempt, { status: 'SUCCEEDED' });
      return { action: 'done' };
    }

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
      await deliveries.recordAttempt(delivery, attempt, { status: 'PENDING', nextAttemptAt });
      return { action: 'retry', delaySeconds: decision.delaySeconds, nextAttemptAt };
    }
    const reason = `gave up after ${attempt.number} attempts: ${decision.reason}; last error: ${outcome.error ?? 'unknown'}`;
    const failed = await deliveries.recordAttempt(delivery, attempt, { status: 'FAILED', statusReason: reason });
    await this.deps.disableWebhook(webhook, `delivery ${delivery.id} failed: ${reason}`, failed);
    return { action: 'done', note: reason, disabledWebhook: true };
  }
}

/** Step 1: only an active webhook is called; otherwise the reason its delivery ends unsent. */
export function prepare(webhook: WebhookWithCredentials | undefined): { ready: true; webhook: WebhookWithCredentials } | { ready: false; reason: string } {
  if (!webhook) return { ready: false, reason: 'webhook was deleted' };
  if (webhook.status !== 'ACTIVE') return { ready: false, reason: `webhook is ${webhook.status}` };
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
  delivery: Pick<Delivery, 'id' | 'accountId' | 'events' | 'attemptCount'>,
  at: Date,
  options: SendOptions,
): Promise<ListenerCall> {
  const outcome = await send(buildRequest(webhook, delivery, at), options);
  return { outcome, attempt: attemptFrom(delivery.attemptCount + 1, at, outcome) };
}

/** The signed (or Basic-authenticated) POST for one attempt; `webhook-id` is the delivery id. */
function buildRequest(webhook: WebhookWithCredentials, delivery: Pick<Delivery, 'id' | 'accountId' | 'events'>, at: Date): WebhookRequest {
  const body = envelopeBody(delivery.accountId, delivery.events);
  const headers = deliveryHeaders({ messageId: delivery.id, timestampSeconds: Math.floor(at.getTime() / 1000), body, auth: authOf(webhook, at) });
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
