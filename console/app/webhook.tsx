import { useState } from 'preact/hooks';
import type { Page as ApiPage, DeliveryView, TestResult, Webhook } from './api';
import { AUTH_LABELS, ConfirmDialog, ErrorBanner, formatTime, navigate, Page, ScopeNote, StatusBadge, useAction, useLoad, useSession } from './ui';

/** One webhook: its settings, the actions of the product page, a test's outcome and the delivery log. */
export function WebhookScreen({ id }: { id: string }) {
  const { api, catalogue, revealedSecret, revealSecret, can } = useSession();
  const { data: webhook, error, reload } = useLoad(() => api.get<Webhook>(`/webhooks/${id}`), [id]);
  const action = useAction();
  const [test, setTest] = useState<TestResult | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [logRound, setLogRound] = useState(0);

  if (!webhook) {
    return (
      <Page title="Webhook" back={{ href: '#/', label: 'All webhooks' }}>
        <ErrorBanner error={error} />
        {!error && <p class="muted">Loading…</p>}
      </Page>
    );
  }
  const descriptionOf = new Map(catalogue.map((e) => [e.name, e]));
  const realtime = webhook.events.filter((e) => descriptionOf.get(e)?.delivery !== 'batch');
  const batch = webhook.events.filter((e) => descriptionOf.get(e)?.delivery === 'batch');
  const secret = revealedSecret?.webhookId === webhook.id ? revealedSecret : undefined;
  const isSignature = webhook.auth.type === 'SIGNATURE';

  const setActive = (active: boolean, discardHeld = false) =>
    action.run(async () => {
      await api.call('PATCH', `/webhooks/${id}`, { active, ...(discardHeld && { discardHeld }) });
      reload();
      setLogRound((r) => r + 1);
    });
  const held = webhook.heldDeliveries ?? 0;
  const sendTest = () =>
    action.run(async () => {
      setTest(null);
      setTest(await api.call<TestResult>('POST', `/webhooks/${id}/test`));
      setLogRound((r) => r + 1);
    });
  const rotate = () =>
    action.run(async () => {
      const rotated = await api.call<{ signingSecret: string; previousSecretExpiresAt?: string }>('POST', `/webhooks/${id}/signature/rotate`);
      revealSecret({ webhookId: id, secret: rotated.signingSecret, ...(rotated.previousSecretExpiresAt && { previousExpiresAt: rotated.previousSecretExpiresAt }) });
    });
  const download = () => action.run(() => api.download(`/webhooks/${id}/signature`));
  const remove = () =>
    action.run(async () => {
      setConfirmDelete(false);
      await api.call('DELETE', `/webhooks/${id}`);
      revealSecret(undefined);
      navigate('/');
    });

  return (
    <Page
      title={
        <>
          {webhook.name} <StatusBadge status={webhook.status} />
        </>
      }
      back={{ href: '#/', label: 'All webhooks' }}
    >
      {webhook.statusReason && (
        <p class="banner error" role="note">
          Disabled: {webhook.statusReason}. Fix the listener, then activate the webhook again: the failed delivery and the {held} held since
          {webhook.oldestHeldEventAt ? ` ${formatTime(webhook.oldestHeldEventAt)}` : ''} are sent first, in order.
        </p>
      )}
      {secret && (
        <section class="panel secret" aria-labelledby="secret-title">
          <h2 id="secret-title">Signing secret — shown this once</h2>
          <p>Copy it into your listener's configuration now, or download the signature JSON (it holds the secret and how to verify requests).</p>
          {secret.previousExpiresAt && <p class="hint">The previous secret keeps signing alongside this one until {formatTime(secret.previousExpiresAt)}.</p>}
          <div class="secret-row">
            <code id="signing-secret">{secret.secret}</code>
            <CopyButton text={secret.secret} />
          </div>
          <div class="actions">
            <button type="button" onClick={download}>
              Download signature JSON
            </button>
            <button type="button" class="link" onClick={() => revealSecret(undefined)}>
              I have saved it — hide
            </button>
          </div>
        </section>
      )}

      <ScopeNote needs={isSignature ? ['write', 'secrets'] : ['write']} />
      <div class="toolbar actions" role="group" aria-label="Webhook actions">
        {can.write ? (
          <a class="button" href={`#/webhooks/${id}/edit`}>
            Edit
          </a>
        ) : (
          <button type="button" disabled>
            Edit
          </button>
        )}
        {webhook.status === 'ACTIVE' ? (
          <button type="button" onClick={() => setActive(false)} disabled={action.busy || !can.write}>
            Deactivate
          </button>
        ) : (
          <>
            <button type="button" onClick={() => setActive(true)} disabled={action.busy || !can.write}>
              {webhook.status === 'DISABLED' && held > 0 ? `Activate and send ${held} held` : 'Activate'}
            </button>
            {webhook.status === 'DISABLED' && held > 0 && (
              <button type="button" onClick={() => setActive(true, true)} disabled={action.busy || !can.write}>
                Activate and discard held
              </button>
            )}
          </>
        )}
        <button type="button" onClick={sendTest} disabled={action.busy || !can.write}>
          Send test event
        </button>
        {isSignature && (
          <>
            <button type="button" onClick={rotate} disabled={action.busy || !can.secrets}>
              Rotate secret
            </button>
            <button type="button" onClick={download} disabled={action.busy || !can.secrets}>
              Download signature JSON
            </button>
          </>
        )}
        <button type="button" class="danger" onClick={() => setConfirmDelete(true)} disabled={action.busy || !can.write}>
          Delete
        </button>
      </div>
      <ErrorBanner error={action.error} />
      {test && <TestOutcome result={test} />}

      <dl class="details">
        <dt>Target URL</dt>
        <dd class="url">{webhook.targetUrl}</dd>
        <dt>Authentication</dt>
        <dd>
          {AUTH_LABELS[webhook.auth.type]}
          {webhook.auth.type === 'BASIC' && <span class="muted"> · user {webhook.auth.username}</span>}
        </dd>
        {webhook.description && (
          <>
            <dt>Description</dt>
            <dd>{webhook.description}</dd>
          </>
        )}
        <dt>Real-time events</dt>
        <dd>{realtime.length > 0 ? <EventNames names={realtime} /> : <span class="muted">none</span>}</dd>
        <dt>Batch events</dt>
        <dd>
          {batch.length > 0 ? <EventNames names={batch} /> : <span class="muted">none</span>}
          {batch.length > 0 && webhook.nextBatchFlushAt && (
            <p class="hint">
              {webhook.pendingBatchEvents ?? 0} events pending · next flush {formatTime(webhook.nextBatchFlushAt)}
            </p>
          )}
        </dd>
        {webhook.health && (
          <>
            <dt>Health</dt>
            <dd id="webhook-health">
              {webhook.health.successRate24h === undefined
                ? 'no attempts in the last 24 h'
                : `${Math.round(webhook.health.successRate24h * 1000) / 10}% of ${webhook.health.attempts24h} attempts succeeded in the last 24 h`}
              <p class="hint">
                last success {webhook.health.lastSuccessAt ? formatTime(webhook.health.lastSuccessAt) : 'never'} · last failure{' '}
                {webhook.health.lastFailureAt ? formatTime(webhook.health.lastFailureAt) : 'never'} · {webhook.health.undelivered}
                {webhook.health.undeliveredAtLeast ? '+' : ''} undelivered
                {webhook.health.oldestUndeliveredEventAt ? `, the oldest from ${formatTime(webhook.health.oldestUndeliveredEventAt)}` : ''}
              </p>
            </dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{formatTime(webhook.createdAt)}</dd>
        <dt>Updated</dt>
        <dd>{formatTime(webhook.updatedAt)}</dd>
      </dl>

      <DeliveryLog webhookId={id} round={logRound} />

      <ConfirmDialog open={confirmDelete} title={`Delete ${webhook.name}?`} confirmLabel="Delete webhook" onConfirm={remove} onCancel={() => setConfirmDelete(false)}>
        <p>Its listener stops receiving events, and its delivery log goes with it. This cannot be undone.</p>
      </ConfirmDialog>
    </Page>
  );
}

function EventNames({ names }: { names: string[] }) {
  return (
    <ul class="tags">
      {names.map((n) => (
        <li key={n}>
          <code>{n}</code>
        </li>
      ))}
    </ul>
  );
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = () => navigator.clipboard.writeText(text).then(() => setCopied('yes'), () => setCopied('no'));
  return (
    <>
      <button type="button" onClick={copy}>
        Copy
      </button>
      <span role="status" class="hint">
        {copied === 'yes' ? 'Copied.' : copied === 'no' ? 'Copying was refused: select the secret and copy it by hand.' : ''}
      </span>
    </>
  );
}

function TestOutcome({ result }: { result: TestResult }) {
  return (
    <section class={`panel test ${result.delivered ? 'ok' : 'failed'}`} aria-labelledby="test-title" role="status">
      <h2 id="test-title">{result.delivered ? 'Test event delivered' : 'Test event not delivered'}</h2>
      <dl class="details compact">
        <dt>Response status</dt>
        <dd>{result.statusCode ?? '—'}</dd>
        <dt>Latency</dt>
        <dd>{Math.round(result.durationMs)} ms</dd>
        {result.error && (
          <>
            <dt>Error</dt>
            <dd>{result.error}</dd>
          </>
        )}
        <dt>Response</dt>
        <dd>{result.responseBody ? <pre class="excerpt">{result.responseBody}</pre> : <span class="muted">empty</span>}</dd>
      </dl>
    </section>
  );
}

const STATUS_FILTERS = [
  ['', 'All'],
  ['PENDING', 'Pending'],
  ['SUCCEEDED', 'Succeeded'],
  ['FAILED', 'Failed'],
  ['SKIPPED', 'Skipped'],
  ['HELD', 'Held'],
] as const;
const PAGE_SIZE = 10;

/** Newest first, filtered by status, a page at a time (the API pages by token, so "newer" walks back a stack). */
function DeliveryLog({ webhookId, round }: { webhookId: string; round: number }) {
  const { api } = useSession();
  const [status, setStatus] = useState('');
  const [tokens, setTokens] = useState<string[]>([]);
  const current = tokens[tokens.length - 1];
  const { data, error, loading, reload } = useLoad(() => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...(status && { status }), ...(current && { nextToken: current }) });
    return api.get<ApiPage<DeliveryView>>(`/webhooks/${webhookId}/deliveries?${query}`);
  }, [webhookId, status, current, round]);

  return (
    <section class="log" aria-labelledby="log-title">
      <div class="section-head">
        <h2 id="log-title">Delivery log</h2>
        <label class="inline">
          Status
          <select
            value={status}
            onChange={(e) => {
              setTokens([]);
              setStatus(e.currentTarget.value);
            }}
          >
            {STATUS_FILTERS.map(([value, label]) => (
              <option value={value} key={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={reload} disabled={loading}>
          Refresh
        </button>
      </div>
      <ErrorBanner error={error} />
      {data && data.items.length === 0 && <p class="empty">{status ? 'No deliveries with this status.' : 'No deliveries yet. Send a test event, or wait for the next event.'}</p>}
      {data && data.items.length > 0 && (
        <table class="table" aria-label="Deliveries, newest first">
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Events</th>
              <th scope="col">Attempts</th>
              <th scope="col">Next attempt</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((delivery) => (
              <tr key={delivery.id}>
                <td data-label="Created">
                  <a href={`#/webhooks/${webhookId}/deliveries/${delivery.id}`}>{formatTime(delivery.createdAt)}</a>
                </td>
                <td data-label="Kind">{KIND_LABELS[delivery.kind]}</td>
                <td data-label="Status">
                  <StatusBadge status={delivery.status} />
                </td>
                <td data-label="Events">{delivery.eventIds.length}</td>
                <td data-label="Attempts">{delivery.attemptCount}</td>
                <td data-label="Next attempt">{formatTime(delivery.nextAttemptAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(tokens.length > 0 || data?.nextToken) && (
        <div class="pager">
        <button type="button" onClick={() => setTokens((t) => t.slice(0, -1))} disabled={tokens.length === 0 || loading}>
          Newer
        </button>
        <span class="muted">Page {tokens.length + 1}</span>
        <button type="button" onClick={() => data?.nextToken && setTokens((t) => [...t, data.nextToken!])} disabled={!data?.nextToken || loading}>
          Older
        </button>
        </div>
      )}
    </section>
  );
}

export const KIND_LABELS: Record<string, string> = { realtime: 'Real-time', batch: 'Batch', test: 'Test' };
