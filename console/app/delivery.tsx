import { useState } from 'preact/hooks';
import type { DeliveryDetail } from './api';
import { ErrorBanner, formatTime, Page, ScopeNote, StatusBadge, useAction, useLoad, useSession } from './ui';
import { KIND_LABELS } from './webhook';

/** One delivery: what it carried, each attempt's outcome, and redelivery once it is finished. */
export function DeliveryScreen({ webhookId, deliveryId }: { webhookId: string; deliveryId: string }) {
  const { api, can } = useSession();
  const path = `/webhooks/${webhookId}/deliveries/${deliveryId}`;
  const { data: delivery, error, reload } = useLoad(() => api.get<DeliveryDetail>(path), [path]);
  const action = useAction();
  const [queued, setQueued] = useState(false);
  const back = { href: `#/webhooks/${webhookId}`, label: 'Back to the webhook' };

  if (!delivery) {
    return (
      <Page title="Delivery" back={back}>
        <ErrorBanner error={error} />
        {!error && <p class="muted">Loading…</p>}
      </Page>
    );
  }
  const redeliver = () =>
    action.run(async () => {
      await api.call('POST', `${path}/redeliver`);
      setQueued(true);
      reload();
    });

  return (
    <Page
      title={
        <>
          Delivery <StatusBadge status={delivery.status} />
        </>
      }
      back={back}
    >
      <dl class="details">
        <dt>Delivery id</dt>
        <dd>
          <code>{delivery.id}</code> <span class="hint">(the webhook-id header)</span>
        </dd>
        <dt>Kind</dt>
        <dd>{KIND_LABELS[delivery.kind]}</dd>
        {delivery.statusReason && (
          <>
            <dt>Reason</dt>
            <dd>{delivery.statusReason}</dd>
          </>
        )}
        <dt>Events</dt>
        <dd>
          {delivery.eventIds.length}
          <span class="muted"> · {delivery.eventIds.slice(0, 3).join(', ')}{delivery.eventIds.length > 3 ? ', …' : ''}</span>
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(delivery.createdAt)}</dd>
        <dt>Next attempt</dt>
        <dd>{formatTime(delivery.nextAttemptAt)}</dd>
      </dl>

      <ScopeNote needs={['write']} />
      <div class="toolbar actions">
        <button type="button" onClick={redeliver} disabled={action.busy || delivery.status === 'PENDING' || !can.write} aria-describedby="redeliver-hint">
          Redeliver
        </button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
        <span class="hint" id="redeliver-hint" role="status">
          {queued ? 'Queued again, behind what the webhook already has waiting.' : delivery.status === 'PENDING' ? 'Still pending: it can be redelivered once finished.' : ''}
        </span>
      </div>
      <ErrorBanner error={action.error} />

      <h2>Attempts</h2>
      {delivery.attempts.length === 0 ? (
        <p class="empty">No attempt yet.</p>
      ) : (
        <table class="table" aria-label="Attempts">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">At</th>
              <th scope="col">Status</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
              <th scope="col">Response</th>
            </tr>
          </thead>
          <tbody>
            {delivery.attempts.map((attempt) => (
              <tr key={attempt.number}>
                <td data-label="#">{attempt.number}</td>
                <td data-label="At">{formatTime(attempt.at)}</td>
                <td data-label="Status">
                  <span class={`code ${attempt.statusCode && attempt.statusCode < 300 ? 'ok' : 'failed'}`}>{attempt.statusCode ?? '—'}</span>
                </td>
                <td data-label="Duration">{Math.round(attempt.durationMs)} ms</td>
                <td data-label="Error">{attempt.error ?? <span class="muted">—</span>}</td>
                <td data-label="Response">{attempt.responseBody ? <pre class="excerpt">{attempt.responseBody}</pre> : <span class="muted">empty</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
