import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import { startBrowser, type TestBrowser } from './support/browser';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/**
 * The console's sign-in as deployed: OpenID Connect authorization code with PKCE against the
 * issuer named in the page's settings. The issuer here is a small identity provider on loopback
 * that checks the PKCE proof and issues a token the runtime accepts.
 */
const CLIENT_ID = 'lms-webhooks-console';

interface AuthorizeRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly challenge: string;
  readonly method: string;
}

let idp: Server;
let issuer: string;
let runtime: TestRuntime;
let browser: TestBrowser;
let page: Page;
const authorizations = new Map<string, AuthorizeRequest>();
const tokenExchanges: { verified: boolean; clientId: string }[] = [];

async function startIdentityProvider(): Promise<void> {
  idp = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    // The console calls discovery and the token endpoint from its own origin.
    const cors = { 'access-control-allow-origin': '*', 'content-type': 'application/json' };
    if (url.pathname === '/.well-known/openid-configuration') {
      res.writeHead(200, cors).end(JSON.stringify({ issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token` }));
      return;
    }
    if (url.pathname === '/authorize') {
      const code = randomUUID();
      const q = url.searchParams;
      authorizations.set(code, {
        clientId: q.get('client_id') ?? '',
        redirectUri: q.get('redirect_uri') ?? '',
        scope: q.get('scope') ?? '',
        challenge: q.get('code_challenge') ?? '',
        method: q.get('code_challenge_method') ?? '',
      });
      res.writeHead(302, { location: `${q.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(q.get('state') ?? '')}` }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const authorization = authorizations.get(form.get('code') ?? '');
        const proof = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
        const verified = !!authorization && authorization.challenge === proof && authorization.redirectUri === form.get('redirect_uri');
        tokenExchanges.push({ verified, clientId: form.get('client_id') ?? '' });
        if (!verified || form.get('grant_type') !== 'authorization_code') {
          res.writeHead(400, cors).end(JSON.stringify({ error: 'invalid_grant' }));
          return;
        }
        void runtime.tokenFor(1010).then((token) => res.writeHead(200, cors).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 })));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', () => resolve()));
  issuer = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;
}

beforeAll(async () => {
  await startIdentityProvider();
  runtime = await startTestRuntime({ CONSOLE_OIDC_ISSUER: issuer, CONSOLE_OIDC_CLIENT_ID: CLIENT_ID });
  browser = await startBrowser();
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  idp?.closeAllConnections();
  await new Promise((resolve) => idp?.close(resolve));
});

it('signs in with authorization code + PKCE, keeps the token in memory only, and cleans the address bar', async () => {
  await page.goto(`${runtime.apiUrl}/console`);
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await browser.screenshot(page, '14-sign-in-oidc');
  await page.getByRole('button', { name: `Sign in with 127.0.0.1:${new URL(issuer).port}` }).click();

  await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
  expect(page.url()).toBe(`${runtime.apiUrl}/console`);
  const [authorization] = [...authorizations.values()];
  expect(authorization).toEqual({
    clientId: CLIENT_ID,
    redirectUri: `${runtime.apiUrl}/console`,
    scope: 'openid webhooks:read webhooks:write webhooks:secrets',
    challenge: expect.stringMatching(/^[\w-]{43}$/),
    method: 'S256',
  });
  expect(tokenExchanges).toEqual([{ verified: true, clientId: CLIENT_ID }]);

  const stored = await page.evaluate('JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])');
  expect(stored).toBe('[[],[],""]');
  expect(browser.errors).toEqual([]);
});

it('says what went wrong when the identity provider refuses', async () => {
  await page.goto(`${runtime.apiUrl}/console?error=access_denied&error_description=${encodeURIComponent('The user cancelled')}`);
  await page.getByRole('alert').filter({ hasText: 'The identity provider refused the sign-in: The user cancelled.' }).waitFor();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
});
