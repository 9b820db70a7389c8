import type { Webhook } from './model';
import type { WebhookStore } from './store';

/** One batch's view of the cache: each account's list checked once, on its first use. */
export interface WebhooksForBatch {
  forAccount(accountId: number): Promise<Webhook[]>;
}

/**
 * An account's webhooks, cached per container and checked against the account's webhooks version
 * (bumped by every webhook write) once per batch of events: a write that the API answered before an
 * event was put applies to that event, and a burst for one account costs one small read per batch.
 * Each batch checks through its own view, so batches routed at once in one process do not reset
 * each other's checks.
 */
export class AccountWebhooksCache {
  private readonly lists = new Map<number, { version: number; webhooks: Webhook[] }>();

  constructor(
    private readonly repository: Pick<WebhookStore, 'accountVersion' | 'accountVersions' | 'listAll'>,
    private readonly maxAccounts = 10_000,
  ) {}

  /** Starts a batch. `accountIds`: the batch's accounts, whose versions are then read together in one request. */
  batch(accountIds: readonly number[] = []): WebhooksForBatch {
    const checked = new Map<number, Promise<Webhook[]>>();
    const versions = accountIds.length > 1 ? this.repository.accountVersions(accountIds) : undefined;
    versions?.catch(() => undefined);
    return {
      forAccount: (accountId) => {
        let webhooks = checked.get(accountId);
        if (!webhooks) {
          // Shared by concurrent lookups for one account.
          webhooks = this.load(accountId, versions);
          checked.set(accountId, webhooks);
          webhooks.catch(() => checked.delete(accountId));
        }
        return webhooks;
      },
    };
  }

  private async load(accountId: number, versions: Promise<Map<number, number>> | undefined): Promise<Webhook[]> {
    // Version first: the list read after it is at least as new as the version it is kept under.
    const version = (await versions)?.get(accountId) ?? (await this.repository.accountVersion(accountId));
    const cached = this.lists.get(accountId);
    if (cached?.version === version) return cached.webhooks;
    const webhooks = await this.repository.listAll(accountId);
    if (this.lists.size >= this.maxAccounts) this.lists.clear();
    this.lists.set(accountId, { version, webhooks });
    return webhooks;
  }
}
