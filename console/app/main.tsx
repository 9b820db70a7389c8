import '../styles.css';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, type CatalogueEvent, type ProblemError } from './api';
import { startOidcSignIn, takeTokenFromFragment, tokenFromUrl, tokenScopes, type OidcSettings } from './auth';
import { DeliveryScreen } from './delivery';
import { WebhookFormScreen } from './form';
import { WebhookList } from './list';
import { ErrorBanner, Page, SessionContext, type Session } from './ui';
import { WebhookScreen } from './webhook';

/** The admin console: sign-in, then hash-routed screens over the admin API. */
interface ConsoleSettings {
  maxWebhooks: number;
  oidc?: OidcSettings;
}

const settings = JSON.parse(document.querySelector<HTMLMetaElement>('meta[name="console-settings"]')!.content) as ConsoleSettings;

/** The screen's path from the fragment; a `#token=…` fragment is a sign-in, not a screen. */
function currentPath(): string {
  const fragment = location.hash.slice(1);
  return !fragment || fragment.startsWith('token=') ? '/' : fragment;
}

function useHashPath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return path;
}

function Screen({ path }: { path: string }) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return <WebhookList />;
  if (parts[0] === 'new' && parts.length === 1) return <WebhookFormScreen />;
  if (parts[0] === 'webhooks' && parts[1]) {
    if (parts.length === 2) return <WebhookScreen id={parts[1]} key={parts[1]} />;
    if (parts.length === 3 && parts[2] === 'edit') return <WebhookFormScreen id={parts[1]} key={parts[1]} />;
    if (parts.length === 4 && parts[2] === 'deliveries' && parts[3]) return <DeliveryScreen webhookId={parts[1]} deliveryId={parts[3]} key={parts[3]} />;
  }
  return (
    <Page title="Not found" back={{ href: '#/', label: 'All webhooks' }}>
      <p>This console has no such page.</p>
    </Page>
  );
}

function SignIn({ notice, onToken }: { notice?: string; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<Error | null>(null);
  return (
    <Page title="Sign in">
      {notice && (
        <p class="banner warning" role="alert">
          {notice}
        </p>
      )}
      <ErrorBanner error={error} />
      {settings.oidc && (
        <section class="panel form">
          <p>Sign in with your organisation's account.</p>
          <button type="button" class="primary" onClick={() => startOidcSignIn(settings.oidc!).catch(setError)}>
            Sign in with {new URL(settings.oidc.issuer).host}
          </button>
        </section>
      )}
      <form
        class="panel form"
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onToken(token.trim());
        }}
      >
        <div class="field">
          <label for="token">{settings.oidc ? 'Or paste an admin token' : 'Admin token'}</label>
          <textarea id="token" rows={4} value={token} onInput={(e) => setToken(e.currentTarget.value)} aria-describedby="token-hint" spellcheck={false} autoComplete="off" />
          <p class="hint" id="token-hint">
            {settings.oidc ? (
              'A JWT for the admin API from your identity provider. '
            ) : (
              <>
                A JWT for the admin API: <code>npm start</code> prints a console link that signs you in, and <code>npm run token -- &lt;accountId&gt;</code> prints a token.{' '}
              </>
            )}
            It is kept in this tab's memory only: reloading the page signs you out.
          </p>
        </div>
        <div class="actions">
          <button type="submit" class="primary" disabled={!token.trim()}>
            Use this token
          </button>
        </div>
      </form>
    </Page>
  );
}

function App({ initialToken, initialError }: { initialToken?: string; initialError?: Error }) {
  const [token, setToken] = useState(initialToken);
  const [notice, setNotice] = useState<string>();
  const [catalogue, setCatalogue] = useState<CatalogueEvent[]>();
  const [loadError, setLoadError] = useState<Error | undefined>(initialError);
  const [revealedSecret, revealSecret] = useState<Session['revealedSecret']>();
  const path = useHashPath();
  const api = useMemo(
    () =>
      token
        ? new Api(token, () => {
            setToken(undefined);
            setCatalogue(undefined);
            setNotice('Your session has ended or the token was refused. Sign in again.');
          })
        : undefined,
    [token],
  );

  // A console link opened in a tab that already shows the console only changes the fragment.
  useEffect(() => {
    const adopt = () => {
      const linked = takeTokenFromFragment();
      if (linked) {
        setNotice(undefined);
        setToken(linked);
      }
    };
    addEventListener('hashchange', adopt);
    return () => removeEventListener('hashchange', adopt);
  }, []);

  useEffect(() => {
    if (!api) return;
    setLoadError(undefined);
    // A refused token already sends the admin back to sign-in with its own notice.
    api.get<CatalogueEvent[]>('/events').then(setCatalogue, (error: ProblemError) => error.status !== 401 && setLoadError(error));
  }, [api]);

  const header = (
    <header class="top">
      <a href="#/" class="brand">
        LMS webhooks
      </a>
      {token && (
        <button type="button" class="link" onClick={() => (setToken(undefined), setCatalogue(undefined), setNotice('You are signed out.'))}>
          Sign out
        </button>
      )}
    </header>
  );
  if (!api) {
    return (
      <>
        {header}
        {loadError && <ErrorBanner error={loadError} />}
        <SignIn notice={notice} onToken={(t) => (setNotice(undefined), setToken(t))} />
      </>
    );
  }
  if (!catalogue) {
    return (
      <>
        {header}
        <main class="page">{loadError ? <ErrorBanner error={loadError} /> : <p class="muted">Loading…</p>}</main>
      </>
    );
  }
  const scopes = tokenScopes(token!);
  const can = { write: !scopes || scopes.has('webhooks:write'), secrets: !scopes || scopes.has('webhooks:secrets') };
  const session: Session = { api, catalogue, maxWebhooks: settings.maxWebhooks, revealedSecret, revealSecret, can };
  return (
    <SessionContext.Provider value={session}>
      {header}
      <Screen path={path} key={path} />
    </SessionContext.Provider>
  );
}

const root = document.getElementById('app')!;
const start = (app: preact.JSX.Element) => {
  root.textContent = '';
  render(app, root);
};
tokenFromUrl(settings.oidc).then(
  (token) => start(<App initialToken={token} />),
  (error: Error) => start(<App initialError={error} />),
);
