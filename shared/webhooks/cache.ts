import type { Webhook } from './model';
import type { WebhookStore } from './store';

/**
 * An account's webhooks, cached per container and checked against the account's webhooks version
 * (bumped by every webhook write) once per batch of events: a write that the API answered before an
 * event was put applies to that event, and a burst for one account costs one small read per batch.
 */
export class AccountWebhooksCache {
  private readonly lists = new Map<number, { version: number; webhooks: Webhook[] }>();
  private checked = new Map<number, Promise<Webhook[]>>();
  private versions?: Promise<Map<number, number>>;

  constructor(
    private readonly repository: Pick<WebhookStore, 'accountVersion' | 'accountVersions' | 'listAll'>,
    private readonly maxAccounts = 10_000,
  ) {}

  /**
   * Starts a batch: each account's list is checked again on its first use. `accountIds`: the
   * batch's accounts, whose versions are then read together in one request.
   */
  newBatch(accountIds: readonly number[] = []): void {
    this.checked = new Map();
    this.versions = accountIds.length > 1 ? this.repository.accountVersions(accountIds) : undefined;
    this.versions?.catch(() => undefined);
  }

  forAccount(accountId: number): Promise<Webhook[]> {
    let webhooks = this.checked.get(accountId);
    if (!webhooks) {
      // Shared by concurrent lookups for one account.
      webhooks = this.load(accountId);
      this.checked.set(accountId, webhooks);
      webhooks.catch(() => this.checked.delete(accountId));
    }
    return webhooks;
  }

  private async load(accountId: number): Promise<Webhook[]> {
    // Version first: the list read after it is at least as new as the version it is kept under.
    const version = (await this.versions)?.get(accountId) ?? (await this.repository.accountVersion(accountId));
    const cached = this.lists.get(accountId);
    if (cached?.version === version) return cached.webhooks;
    const webhooks = await this.repository.listAll(accountId);
    if (this.lists.size >= this.maxAccounts) this.lists.clear();
    this.lists.set(accountId, { version, webhooks });
    return webhooks;
  }
}
