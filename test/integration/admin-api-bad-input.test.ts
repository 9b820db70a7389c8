import { SignJWT } from 'jose';
import { startTestRuntime, type TestRuntime } from './support/runtime';

let runtime: TestRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime({ ALLOW_PRIVATE_TARGETS: 'false' });
});
afterAll(async () => runtime.stop());

const valid = { name: 'ok', targetUrl: 'https://hooks.example.com/lms', auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] };

async function post(body: string, headers: Record<string, string> = {}, accountId = 1111): Promise<Response> {
  return runtime.api('/webhooks', { method: 'POST', body, headers, accountId });
}

async function problemOf(response: Response, status: number): Promise<{ errors?: { field: string; message: string }[] }> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as { errors?: { field: string; message: string }[] };
}

async function webhookCount(accountId: number): Promise<number> {
  const page = (await (await runtime.api('/webhooks?limit=100', { accountId })).json()) as { items: unknown[] };
  return page.items.length;
}

describe('bad request bodies get a 4xx problem naming the field, and write nothing', () => {
  const cases: [string, string, Record<string, string>, number, string?][] = [
    ['malformed JSON', '{"name": ', {}, 400, '(body)'],
    ['a JSON array', '[]', {}, 400],
    ['wrong content type', JSON.stringify(valid), { 'content-type': 'text/plain' }, 415],
    ['a body over 64 KB', JSON.stringify({ ...valid, description: 'x'.repeat(70 * 1024) }), {}, 413],
    ['an unknown field', JSON.stringify({ ...valid, colour: 'blue' }), {}, 400, 'colour'],
    ['an empty name', JSON.stringify({ ...valid, name: '' }), {}, 400, 'name'],
    ['an over-long name', JSON.stringify({ ...valid, name: 'n'.repeat(101) }), {}, 400, 'name'],
    ['an over-long description', JSON.stringify({ ...valid, description: 'd'.repeat(501) }), {}, 400, 'description'],
    ['a non-URL target', JSON.stringify({ ...valid, targetUrl: 'not a url' }), {}, 400, 'targetUrl'],
    ['an ftp: target', JSON.stringify({ ...valid, targetUrl: 'ftp://files.example.com/x' }), {}, 400, 'targetUrl'],
    ['an http: target where only https is allowed', JSON.stringify({ ...valid, targetUrl: 'http://hooks.example.com/x' }), {}, 400, 'targetUrl'],
    ['a loopback target', JSON.stringify({ ...valid, targetUrl: 'https://127.0.0.1/x' }), {}, 400, 'targetUrl'],
    ['a cloud metadata target', JSON.stringify({ ...valid, targetUrl: 'https://169.254.169.254/latest' }), {}, 400, 'targetUrl'],
    ['an unknown event name', JSON.stringify({ ...valid, events: ['COURSE_COMPLETED', 'NOT_AN_EVENT'] }), {}, 400, 'events.1'],
    ['an empty event list', JSON.stringify({ ...valid, events: [] }), {}, 400, 'events'],
    ['a repeated event name', JSON.stringify({ ...valid, events: ['CI_STATS', 'CI_STATS'] }), {}, 400, 'events'],
    ['an unknown auth type', JSON.stringify({ ...valid, auth: { type: 'OAUTH' } }), {}, 400, 'auth.type'],
    ['Basic auth without a password', JSON.stringify({ ...valid, auth: { type: 'BASIC', username: 'u' } }), {}, 400, 'auth.password'],
    ['a Basic username with a colon', JSON.stringify({ ...valid, auth: { type: 'BASIC', username: 'a:b', password: 'p' } }), {}, 400, 'auth.username'],
    ['a missing name', JSON.stringify({ targetUrl: valid.targetUrl, auth: valid.auth, events: valid.events }), {}, 400, 'name'],
    ['active that is not a boolean', JSON.stringify({ ...valid, active: 'yes' }), {}, 400, 'active'],
  ];

  const rows = cases.map(([label, body, headers, status, field]) => ({ label, body, headers, status, field }));
  it.each(rows)('$label', async ({ body, headers, status, field }) => {
    const before = await webhookCount(1111);
    const problem = await problemOf(await post(body, headers), status);
    if (field) expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect(await webhookCount(1111)).toBe(before);
  });

  it('refuses an empty or invalid edit', async () => {
    const { id } = (await (await post(JSON.stringify(valid), {}, 1212)).json()) as { id: string };
    const patch = (body: string, headers: Record<string, string> = {}) => runtime.api(`/webhooks/${id}`, { method: 'PATCH', body, headers, accountId: 1212 });
    await problemOf(await patch('{}'), 400);
    expect((await problemOf(await patch('{"targetUrl":"https://10.0.0.8/x"}'), 400)).errors?.[0]?.field).toBe('targetUrl');
    expect((await problemOf(await patch('{"id":"wh_x"}'), 400)).errors?.[0]?.field).toBe('id');
    await problemOf(await patch('{"name":"x"}', { 'if-match': 'nonsense' }), 400);
    expect(await (await runtime.api(`/webhooks/${id}`, { accountId: 1212 })).json()).toMatchObject({ name: 'ok', targetUrl: valid.targetUrl });
  });

  it('never answers 5xx to garbage', async () => {
    const garbage = ['', 'null', 'true', '"str"', '{"name":null}', '{"events":"COURSE_COMPLETED"}', '{"auth":[]}', '\u0000\u0001', '{"__proto__":{"x":1}}', '1e999', '{"name":"' + '\ud800' + '"}'];
    for (const body of garbage) {
      const response = await post(body);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
  });
});

describe('authentication', () => {
  it('requires a bearer token on every route but the public ones', async () => {
    for (const path of ['/events', '/webhooks', '/webhooks/wh_00000000000000000000000000']) {
      await problemOf(await runtime.api(path, { token: null }), 401);
    }
  });

  it('refuses a malformed, forged or expired token', async () => {
    await problemOf(await runtime.api('/webhooks', { token: 'not-a-jwt' }), 401);
    const forged = await new SignJWT({ accountId: 1010 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('lms-webhooks-local')
      .setAudience('lms-webhooks')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await problemOf(await runtime.api('/webhooks', { token: forged }), 401);
    const expired = await runtime.tokens.issue(1010, { ttlSeconds: -60 });
    await problemOf(await runtime.api('/webhooks', { token: expired }), 401);
  });

  it('refuses a valid token without a usable account claim', async () => {
    for (const accountId of [0, -5, 1.5, 'abc']) {
      const token = await runtime.tokens.issue(accountId as number);
      await problemOf(await runtime.api('/webhooks', { token }), 401);
    }
  });
});

describe('unknown routes and ids', () => {
  it('answers 404 for unknown paths and malformed ids, 405 for a wrong method', async () => {
    await problemOf(await runtime.api('/nope'), 404);
    await problemOf(await runtime.api('/webhooks/not-an-id'), 404);
    await problemOf(await runtime.api('/webhooks/%E0%A4%A'), 404);
    await problemOf(await runtime.api('/webhooks', { method: 'DELETE' }), 405);
  });
});
