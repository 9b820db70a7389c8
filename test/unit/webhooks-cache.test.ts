import { AccountWebhooksCache } from '../../shared/webhooks/cache';
import type { Webhook } from '../../shared/webhooks/model';

/**
 * The router's cache of each account's webhooks: checked once per batch against the account's
 * version, the batch's accounts' versions read in one request, and batches routed at once keep
 * their own checks.
 */
function repository(versions: Map<number, number>) {
  const calls = { version: 0, versions: 0, list: 0 };
  return {
    calls,
    repo: {
      accountVersion: async (accountId: number) => (calls.version++, versions.get(accountId) ?? 0),
      accountVersions: async (ids: readonly number[]) => (calls.versions++, new Map(ids.map((id) => [id, versions.get(id) ?? 0]))),
      listAll: async (accountId: number) => (calls.list++, [{ id: `wh-${accountId}-${versions.get(accountId) ?? 0}` } as Webhook]),
    },
  };
}

it("checks each account once per batch, reads a batch's versions together, and lists again only after a webhook write", async () => {
  const versions = new Map([
    [1, 1],
    [2, 1],
  ]);
  const { calls, repo } = repository(versions);
  const cache = new AccountWebhooksCache(repo);

  const first = cache.batch([1, 2]);
  await Promise.all([first.forAccount(1), first.forAccount(1), first.forAccount(2)]);
  expect(calls).toEqual({ version: 0, versions: 1, list: 2 });

  // A second batch: versions read again, lists still current.
  await cache.batch([1, 2]).forAccount(1);
  expect(calls).toEqual({ version: 0, versions: 2, list: 2 });

  // A webhook write bumped account 1's version: the next batch lists it again.
  versions.set(1, 2);
  expect(await cache.batch([1]).forAccount(1)).toEqual([{ id: 'wh-1-2' }]);
  expect(calls).toEqual({ version: 1, versions: 2, list: 3 });
});

it('a batch started meanwhile does not reset the checks of one still being routed', async () => {
  const { calls, repo } = repository(new Map([[1, 1]]));
  const cache = new AccountWebhooksCache(repo);
  const routing = cache.batch([1]);
  await routing.forAccount(1);
  cache.batch([1]);
  await routing.forAccount(1);
  expect(calls.version).toBe(1);
});
