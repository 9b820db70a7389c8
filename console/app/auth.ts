/**
 * Sign-in. The token lives in memory only: a reload signs the admin out. Locally the runtime's
 * console URL carries a token in the fragment (never sent to a server), taken and then removed
 * from the address bar. In AWS: OpenID Connect authorization code with PKCE against the issuer.
 */
export interface OidcSettings {
  issuer: string;
  clientId: string;
}

const PKCE_KEY = 'console-pkce';
/** The API's scopes; a token without one gets 403 on that route's calls. */
const SCOPES = 'openid webhooks:read webhooks:write webhooks:secrets';

/** A token handed over in the URL: `#token=…` locally, or the OIDC redirect's `?code=…&state=…`. */
export async function tokenFromUrl(oidc: OidcSettings | undefined): Promise<string | undefined> {
  const token = takeTokenFromFragment();
  if (token) return token;
  const query = new URLSearchParams(location.search);
  const code = query.get('code');
  const error = query.get('error');
  if (!oidc || (!code && !error)) return undefined;
  history.replaceState(null, '', location.pathname);
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PKCE_KEY);
  if (error) throw new Error(`The identity provider refused the sign-in: ${query.get('error_description') ?? error}.`);
  if (!pending || pending.state !== query.get('state')) throw new Error('The sign-in answer does not match a sign-in started here. Sign in again.');
  const { token_endpoint } = await discovery(oidc.issuer);
  const response = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri(), client_id: oidc.clientId, code_verifier: pending.verifier }),
  });
  const answer = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || !answer.access_token) {
    throw new Error(`The identity provider did not issue a token (${answer.error_description ?? answer.error ?? `HTTP ${response.status}`}). Sign in again.`);
  }
  return answer.access_token;
}

/** `#token=…` (the link `npm start` prints), removed from the address bar and history once read. */
export function takeTokenFromFragment(): string | undefined {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) return undefined;
  history.replaceState(null, '', location.pathname + location.search);
  return token;
}

/**
 * The scopes a JWT grants (its space-separated `scope` claim), to switch off what the API would
 * refuse; undefined when the token says nothing about scopes (the API then decides alone).
 */
export function tokenScopes(token: string): ReadonlySet<string> | undefined {
  try {
    const claims = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { scope?: unknown };
    return typeof claims.scope === 'string' ? new Set(claims.scope.split(' ').filter(Boolean)) : undefined;
  } catch {
    return undefined;
  }
}

/** Leaves for the identity provider's sign-in page; it comes back to this page with a code. */
export async function startOidcSignIn(oidc: OidcSettings): Promise<void> {
  const { authorization_endpoint } = await discovery(oidc.issuer);
  const verifier = randomString();
  const state = randomString();
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const challenge = base64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    scope: SCOPES,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

async function discovery(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`).catch(() => undefined);
  const document = (await response?.json().catch(() => undefined)) as { authorization_endpoint?: string; token_endpoint?: string } | undefined;
  if (!response?.ok || !document?.authorization_endpoint || !document.token_endpoint) {
    throw new Error(`The identity provider's discovery document (${issuer}) could not be read. Try again, or paste a token.`);
  }
  return { authorization_endpoint: document.authorization_endpoint, token_endpoint: document.token_endpoint };
}

/** The console page itself, without query or fragment: register this URL with the identity provider. */
function redirectUri(): string {
  return location.origin + location.pathname;
}

function randomString(): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(32)));
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
