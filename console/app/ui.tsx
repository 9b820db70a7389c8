import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Api, CatalogueEvent, ProblemError } from './api';

/** What every screen needs: the API with the admin's token, the event catalogue and the page's settings. */
export interface Session {
  api: Api;
  catalogue: CatalogueEvent[];
  maxWebhooks: number;
  /** A signing secret to show once, on the webhook's page, after create or rotate. */
  revealedSecret?: { webhookId: string; secret: string; previousExpiresAt?: string };
  revealSecret(value: Session['revealedSecret']): void;
  /** Whether the token allows changing webhooks (`webhooks:write`) and handling secrets (`webhooks:secrets`). */
  can: { write: boolean; secrets: boolean };
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}

export function navigate(path: string): void {
  location.hash = `#${path}`;
}

/** Loads on mount and whenever `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: ProblemError; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: ProblemError; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: ProblemError) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

export function Page({ title, children, back }: { title: ComponentChildren; children: ComponentChildren; back?: { href: string; label: string } }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Each screen takes the focus to its heading, so keyboard and screen-reader users start there.
  useEffect(() => heading.current?.focus(), []);
  return (
    <main class="page">
      {back && (
        <a class="back" href={back.href}>
          ← {back.label}
        </a>
      )}
      <h1 tabIndex={-1} ref={heading}>
        {title}
      </h1>
      {children}
    </main>
  );
}

/** Says once per screen what the token does not allow; the controls it concerns are switched off. */
export function ScopeNote({ needs }: { needs: ('write' | 'secrets')[] }) {
  const { can } = useSession();
  const missing = needs.filter((n) => !can[n]);
  if (missing.length === 0) return null;
  return (
    <p class="banner warning" id="scope-note" role="note">
      Your token does not carry {missing.map((n) => `webhooks:${n}`).join(' or ')}, so {missing.map((n) => (n === 'write' ? 'changing webhooks' : 'rotating or downloading secrets')).join(' and ')}{' '}
      is switched off here. Sign in with a token that has {missing.length > 1 ? 'them' : 'it'} to do that.
    </p>
  );
}

export function ErrorBanner({ error }: { error?: { message: string } | null }) {
  if (!error) return null;
  return (
    <p class="banner error" role="alert">
      {error.message}
    </p>
  );
}

const WEBHOOK_STATUS_LABELS: Record<string, string> = { ACTIVE: 'Active', INACTIVE: 'Inactive', DISABLED: 'Disabled' };
const DELIVERY_STATUS_LABELS: Record<string, string> = { PENDING: 'Pending', SUCCEEDED: 'Succeeded', FAILED: 'Failed', SKIPPED: 'Skipped', HELD: 'Held' };

export function StatusBadge({ status }: { status: string }) {
  const label = WEBHOOK_STATUS_LABELS[status] ?? DELIVERY_STATUS_LABELS[status] ?? status;
  return <span class={`badge badge-${status.toLowerCase()}`}>{label}</span>;
}

export const AUTH_LABELS: Record<string, string> = { NONE: 'None', BASIC: 'Basic', SIGNATURE: 'Signature' };

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** A modal confirmation on the native <dialog>: focus trapped, Escape cancels. */
export function ConfirmDialog(props: { open: boolean; title: string; children: ComponentChildren; confirmLabel: string; onConfirm: () => void; onCancel: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (props.open && !element.open) element.showModal();
    if (!props.open && element.open) element.close();
  }, [props.open]);
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="dialog-title" onCancel={props.onCancel}>
      <h2 id="dialog-title">{props.title}</h2>
      {props.children}
      <div class="actions">
        <button type="button" class="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button type="button" onClick={props.onCancel} autoFocus>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** Runs an action once at a time, keeping its error for display. */
export function useAction(): { busy: boolean; error: ProblemError | null; run: (action: () => Promise<void>) => Promise<void>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ProblemError | null>(null);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e as ProblemError);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}
