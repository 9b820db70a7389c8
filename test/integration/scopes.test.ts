import { ROUTES, SCOPES, type RouteDefinition, type Scope } from '../../shared/api/routes';
import { startTestRuntime, type TestRuntime } from './support/runtime';

let runtime: TestRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => runtime.stop());

const signed = { name: 'signed', targetUrl: 'http://127.0.0.1:9/hooks', auth: { type: 'SIGNATURE' }, events: ['COURSE_COMPLETED'] };

async function tokenWith(...scopes: Scope[]): Promise<string> {
  return runtime.tokens.issue(1010, { scopes });
}

async function expectForbidden(response: Response, scope: Scope): Promise<void> {
  expect(response.status).toBe(403);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const problem = (await response.json()) as { status: number; detail: string; errors: { field: string; message: string }[] };
  expect(problem.status).toBe(403);
  expect(problem.detail).toContain(scope);
  expect(problem.errors).toEqual([{ field: 'scope', message: `${scope} required` }]);
}

describe('route scopes', () => {
  let webhookId: string;
  beforeAll(async () => {
    const created = await runtime.api('/webhooks', { method: 'POST', body: JSON.stringify(signed) });
    webhookId = ((await created.json()) as { id: string }).id;
  });

  it('lets a read-only token read, but not create or download the signing secret', async () => {
    const token = await tokenWith(SCOPES.read);
    expect((await runtime.api('/webhooks', { token })).status).toBe(200);
    expect((await runtime.api(`/webhooks/${webhookId}`, { token })).status).toBe(200);
    expect((await runtime.api(`/webhooks/${webhookId}/deliveries`, { token })).status).toBe(200);
    await expectForbidden(await runtime.api('/webhooks', { method: 'POST', body: JSON.stringify(signed), token }), SCOPES.write);
    await expectForbidden(await runtime.api(`/webhooks/${webhookId}/signature`, { token }), SCOPES.secrets);
    await expectForbidden(await runtime.api(`/webhooks/${webhookId}/signature/rotate`, { method: 'POST', token }), SCOPES.secrets);
  });

  it('keeps the secrets from a write-only token, and writes from a secrets-only token', async () => {
    const writer = await tokenWith(SCOPES.write);
    await expectForbidden(await runtime.api(`/webhooks/${webhookId}/signature`, { token: writer }), SCOPES.secrets);
    await expectForbidden(await runtime.api(`/webhooks/${webhookId}`, { token: writer }), SCOPES.read);
    const keeper = await tokenWith(SCOPES.secrets);
    expect((await runtime.api(`/webhooks/${webhookId}/signature`, { token: keeper })).status).toBe(200);
    await expectForbidden(
      await runtime.api(`/webhooks/${webhookId}`, { method: 'PATCH', body: JSON.stringify({ name: 'renamed' }), token: keeper }),
      SCOPES.write,
    );
  });

  it('asks every protected route for its scope before anything else: a token without scopes gets 403 everywhere', async () => {
    const token = await tokenWith();
    const routes: readonly RouteDefinition[] = ROUTES;
    for (const route of routes.filter((r) => !r.public)) {
      const path = route.path.replace('{id}', webhookId).replace('{deliveryId}', 'dl_00000000000000000000000000');
      await expectForbidden(await runtime.api(path, { method: route.method, token }), route.scope!);
    }
    expect((await runtime.api('/health', { token })).status).toBe(200);
  });
});

describe('with scopes turned off (REQUIRE_SCOPES=false)', () => {
  let unscoped: TestRuntime;
  beforeAll(async () => {
    unscoped = await startTestRuntime({ REQUIRE_SCOPES: 'false' });
  });
  afterAll(async () => unscoped.stop());

  it('accepts any valid token on every route', async () => {
    const token = await unscoped.tokens.issue(1010, { scopes: [] });
    const created = await unscoped.api('/webhooks', { method: 'POST', body: JSON.stringify(signed), token });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect((await unscoped.api(`/webhooks/${id}/signature`, { token })).status).toBe(200);
  });
});
