import type { Page as ApiPage, Webhook } from './api';
import { AUTH_LABELS, ErrorBanner, formatTime, Page, ScopeNote, StatusBadge, useLoad, useSession } from './ui';

/** All of the account's webhooks, with batch backlog for those that take batch events. */
export function WebhookList() {
  const { api, catalogue, maxWebhooks, can } = useSession();
  const batchEvents = new Set(catalogue.filter((e) => e.delivery === 'batch').map((e) => e.name));
  const { data, error, loading } = useLoad(async () => {
    const webhooks: Webhook[] = [];
    let nextToken: string | undefined;
    do {
      const page: ApiPage<Webhook> = await api.get(`/webhooks?limit=100${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`);
      webhooks.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    // Pending batch events and the next flush are on the single-webhook view only.
    return Promise.all(webhooks.map((w) => (w.events.some((e) => batchEvents.has(e)) ? api.get<Webhook>(`/webhooks/${w.id}`) : w)));
  }, []);
  const atLimit = (data?.length ?? 0) >= maxWebhooks;

  return (
    <Page title="Webhooks">
      <p class="lead">Webhooks send learning events (enrolments, completions, progress…) as signed JSON to a URL you choose, in real time or in scheduled batches.</p>
      <div class="toolbar">
        {data && (
          <span class="count" id="webhook-count">
            {data.length} of {maxWebhooks} webhooks
          </span>
        )}
        {atLimit || !can.write ? (
          <button type="button" disabled aria-describedby={atLimit ? 'limit-note' : 'scope-note'}>
            Add webhook
          </button>
        ) : (
          <a class="button primary" href="#/new">
            Add webhook
          </a>
        )}
      </div>
      <ScopeNote needs={['write']} />
      {atLimit && (
        <p class="banner warning" id="limit-note" role="note">
          This account has reached its limit of {maxWebhooks} webhooks. Delete a webhook you no longer need to add another; one webhook can subscribe to many events.
        </p>
      )}
      <ErrorBanner error={error} />
      {loading && !data && <p class="muted">Loading webhooks…</p>}
      {data && data.length === 0 && (
        <div class="empty">
          <h2>No webhooks yet</h2>
          <p>Add a webhook to start receiving events at your listener URL.</p>
        </div>
      )}
      {data && data.length > 0 && (
        <table class="table" aria-label="Webhooks">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Target URL</th>
              <th scope="col">Auth</th>
              <th scope="col">Events</th>
              <th scope="col">Status</th>
              <th scope="col">Batch</th>
            </tr>
          </thead>
          <tbody>
            {data.map((webhook) => (
              <tr key={webhook.id}>
                <td data-label="Name">
                  <a href={`#/webhooks/${webhook.id}`}>{webhook.name}</a>
                </td>
                <td data-label="Target URL" class="url">
                  {webhook.targetUrl}
                </td>
                <td data-label="Auth">{AUTH_LABELS[webhook.auth.type]}</td>
                <td data-label="Events">{webhook.events.length}</td>
                <td data-label="Status">
                  <StatusBadge status={webhook.status} />
                  {webhook.statusReason && <span class="reason">{webhook.statusReason}</span>}
                </td>
                <td data-label="Batch">
                  {webhook.nextBatchFlushAt && webhook.events.some((e) => batchEvents.has(e)) ? (
                    <span>
                      {webhook.pendingBatchEvents ?? 0} pending · next {formatTime(webhook.nextBatchFlushAt)}
                    </span>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
