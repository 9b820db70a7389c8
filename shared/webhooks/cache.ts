import type { Webhook } from './model';
import type { WebhookRepository } from './repository';

/**
 * An account's webhooks, cached per container for a few seconds: a burst of events for one account
 * costs one Query, and an admin's edit reaches the router within `ttlMs`.
 */
export class AccountWebhooksCache {
  private readonly entries = new Map<number, { at: number; webhooks: Promise<Webhook[]> }>();

  constructor(
    private readonly repository: WebhookRepository,
    private readonly ttlMs = 5000,
    private readonly now: () => number = Date.now,
    private readonly maxAccounts = 10_000,
  ) {}

  async forAccount(accountId: number): Promise<Webhook[]> {
    const cached = this.entries.get(accountId);
    if (cached && this.now() - cached.at < this.ttlMs) return cached.webhooks;
    // Cache the promise, so concurrent lookups for one account share one Query.
    const webhooks = this.repository.listAll(accountId);
    if (this.entries.size >= this.maxAccounts) this.entries.clear();
    this.entries.set(accountId, { at: this.now(), webhooks });
    webhooks.catch(() => this.entries.delete(accountId));
    return webhooks;
  }
}
