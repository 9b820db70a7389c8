import { Webhook as StandardWebhook } from 'standardwebhooks';
import { CATALOGUE } from '../../shared/events/catalogue';
import { ROUTES } from '../../shared/api/routes';
import { signatureHeader } from '../../shared/signing';
import { startTestRuntime, type TestRuntime } from './support/runtime';

let runtime: TestRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(async () => runtime.stop());

const valid = {
  name: 'Completions to HR',
  targetUrl: 'https://hr.example.com/hooks/lms',
  auth: { type: 'NONE' },
  events: ['COURSE_COMPLETED', 'COURSE_ENROLLMENT_BATCH'],
};

async function create(body: unknown, accountId = 1010): Promise<Response> {
  return runtime.api('/webhooks', { method: 'POST', body: JSON.stringify(body), accountId });
}

async function expectProblem(response: Response, status: number, field?: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const problem = (await response.json()) as { status: number; title: string; detail: string; errors?: { field: string }[] };
  expect(problem).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  if (field) expect(problem.errors?.map((e) => e.field)).toContain(field);
  return problem;
}

describe('public routes', () => {
  it('answers /health without a token', async () => {
    const response = await runtime.api('/health', { token: null });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('serves an OpenAPI 3.1 document covering every route', async () => {
    const response = await runtime.api('/openapi.json', { token: null });
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    expect(document.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      expect(document.paths[route.path]?.[route.method.toLowerCase()]?.operationId).toBe(route.operationId);
    }
    const createBody = (document.paths['/webhooks']!.post as unknown as { requestBody: { content: Record<string, { schema: { required: string[] } }> } })
      .requestBody.content['application/json']!.schema;
    expect(createBody.required).toEqual(expect.arrayContaining(['name', 'targetUrl', 'auth', 'events']));
    const security = (path: string, method: string) => (document.paths[path]![method] as unknown as { security: unknown }).security;
    expect(security('/webhooks/{id}/signature', 'get')).toEqual([{ bearer: ['webhooks:secrets'] }]);
    expect(security('/webhooks', 'post')).toEqual([{ bearer: ['webhooks:write'] }]);
    expect(security('/webhooks', 'get')).toEqual([{ bearer: ['webhooks:read'] }]);
    expect(security('/health', 'get')).toEqual([]);
  });
});

describe('the event catalogue', () => {
  it('lists every real-time and batch event with its data fields', async () => {
    const events = (await (await runtime.api('/events')).json()) as { name: string; delivery: string; dataFields: string[] }[];
    expect(events).toHaveLength(CATALOGUE.length);
    expect(events.find((e) => e.name === 'LEARNER_PROGRESS')).toMatchObject({ delivery: 'batch', dataFields: expect.arrayContaining(['progressPercent']) });
    expect(events.find((e) => e.name === 'LEARNING_PATH_COMPLETION_ROLLBACK')).toMatchObject({ delivery: 'realtime' });
    expect(events.filter((e) => e.name.startsWith('RESPONSE:ASYNCAPI_USERGROUP'))).toHaveLength(2);
  });
});

describe('webhook CRUD', () => {
  it('creates, reads, lists, edits, deactivates and deletes', async () => {
    const created = await create({ ...valid, description: 'to the HR system' });
    expect(created.status).toBe(201);
    const webhook = (await created.json()) as Record<string, unknown>;
    expect(created.headers.get('location')).toBe(`/webhooks/${webhook.id}`);
    expect(webhook).toMatchObject({ ...valid, description: 'to the HR system', active: true, status: 'ACTIVE' });
    expect(webhook).not.toHaveProperty('signingSecret');

    const fetched = await runtime.api(`/webhooks/${webhook.id}`);
    expect(await fetched.json()).toEqual({ ...webhook, pendingBatchEvents: 0, nextBatchFlushAt: expect.any(String), heldDeliveries: 0, health: { attempts24h: 0, undelivered: 0 } });
    const etag = fetched.headers.get('etag')!;

    const listed = (await (await runtime.api('/webhooks')).json()) as { items: { id: string }[] };
    expect(listed.items.map((w) => w.id)).toContain(webhook.id);

    const edited = await runtime.api(`/webhooks/${webhook.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ name: 'Renamed', active: false }),
      headers: { 'if-match': etag },
    });
    expect(edited.status).toBe(200);
    expect(await edited.json()).toMatchObject({ name: 'Renamed', active: false, status: 'INACTIVE', targetUrl: valid.targetUrl });

    // The old ETag no longer matches: a stale edit is refused, not applied.
    const stale = await runtime.api(`/webhooks/${webhook.id}`, { method: 'PATCH', body: JSON.stringify({ name: 'Stale' }), headers: { 'if-match': etag } });
    await expectProblem(stale, 412);

    const reactivated = await runtime.api(`/webhooks/${webhook.id}`, { method: 'PATCH', body: JSON.stringify({ active: true }) });
    expect(await reactivated.json()).toMatchObject({ active: true, status: 'ACTIVE', name: 'Renamed' });

    expect((await runtime.api(`/webhooks/${webhook.id}`, { method: 'DELETE' })).status).toBe(204);
    await expectProblem(await runtime.api(`/webhooks/${webhook.id}`), 404);
    await expectProblem(await runtime.api(`/webhooks/${webhook.id}`, { method: 'DELETE' }), 404);
  });

  it('paginates the list with limit and nextToken', async () => {
    const accountId = 3030;
    for (let i = 0; i < 3; i++) expect((await create({ ...valid, name: `hook ${i}` }, accountId)).status).toBe(201);
    const first = (await (await runtime.api('/webhooks?limit=2', { accountId })).json()) as { items: unknown[]; nextToken?: string };
    expect(first.items).toHaveLength(2);
    expect(first.nextToken).toEqual(expect.any(String));
    const second = (await (await runtime.api(`/webhooks?limit=2&nextToken=${encodeURIComponent(first.nextToken!)}`, { accountId })).json()) as { items: unknown[]; nextToken?: string };
    expect(second.items).toHaveLength(1);
    expect(second.nextToken).toBeUndefined();
    // Another account's token is useless here.
    await expectProblem(await runtime.api(`/webhooks?nextToken=${encodeURIComponent(first.nextToken!)}`, { accountId: 4040 }), 400, 'nextToken');
    await expectProblem(await runtime.api('/webhooks?limit=0', { accountId }), 400, 'limit');
    await expectProblem(await runtime.api('/webhooks?limit=101', { accountId }), 400, 'limit');
    await expectProblem(await runtime.api('/webhooks?nextToken=garbage', { accountId }), 400, 'nextToken');
  });
});

describe('the per-account limit', () => {
  it('leaves exactly 5 webhooks after 20 concurrent creates', async () => {
    const accountId = 5050;
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => create({ ...valid, name: `race ${i}` }, accountId)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(15);
    const listed = (await (await runtime.api('/webhooks?limit=100', { accountId })).json()) as { items: { id: string }[] };
    expect(listed.items).toHaveLength(5);

    // Deleting one frees one place, and only one.
    expect((await runtime.api(`/webhooks/${listed.items[0]!.id}`, { method: 'DELETE', accountId })).status).toBe(204);
    expect((await create(valid, accountId)).status).toBe(201);
    await expectProblem(await create(valid, accountId), 409);
  });
});

describe('accounts are isolated', () => {
  it("answers another account's webhook exactly like a missing one", async () => {
    const webhook = (await (await create(valid, 6060)).json()) as { id: string };
    const missing = (await (await runtime.api('/webhooks/wh_00000000000000000000000000', { accountId: 7070 })).json()) as object;
    for (const [method, body] of [['GET'], ['PATCH', '{"name":"x"}'], ['DELETE']] as const) {
      const response = await runtime.api(`/webhooks/${webhook.id}`, { method, accountId: 7070, ...(body && { body }) });
      expect(response.status).toBe(404);
      expect(Object.keys((await response.json()) as object)).toEqual(Object.keys(missing));
    }
    await expectProblem(await runtime.api(`/webhooks/${webhook.id}/signature`, { accountId: 7070 }), 404);
    expect(((await (await runtime.api('/webhooks', { accountId: 7070 })).json()) as { items: unknown[] }).items).toHaveLength(0);
    expect((await runtime.api(`/webhooks/${webhook.id}`, { accountId: 6060 })).status).toBe(200);
  });
});

describe('secrets', () => {
  it('never returns a Basic password', async () => {
    const created = await create({ ...valid, auth: { type: 'BASIC', username: 'lms', password: 'hunter2-very-secret' } }, 8080);
    const text = await created.text();
    expect(created.status).toBe(201);
    expect(text).not.toContain('hunter2-very-secret');
    const { id } = JSON.parse(text) as { id: string };
    const fetched = await (await runtime.api(`/webhooks/${id}`, { accountId: 8080 })).text();
    expect(JSON.parse(fetched)).toMatchObject({ auth: { type: 'BASIC', username: 'lms' } });
    expect(fetched).not.toContain('hunter2');
    expect(await (await runtime.api('/webhooks', { accountId: 8080 })).text()).not.toContain('hunter2');
    await expectProblem(await runtime.api(`/webhooks/${id}/signature`, { accountId: 8080 }), 409);
  });

  it('returns a signing secret once, offers it for download, and rotates with a 24 h overlap', async () => {
    const accountId = 9090;
    const created = await create({ ...valid, auth: { type: 'SIGNATURE' } }, accountId);
    const { id, signingSecret } = (await created.json()) as { id: string; signingSecret: string };
    expect(signingSecret).toMatch(/^whsec_/);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(await (await runtime.api(`/webhooks/${id}`, { accountId })).text()).not.toContain('whsec_');
    expect(await (await runtime.api('/webhooks', { accountId })).text()).not.toContain('whsec_');

    const download = await runtime.api(`/webhooks/${id}/signature`, { accountId });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.json"$/);
    const document = (await download.json()) as { secret: string; secrets: unknown[]; headers: Record<string, string> };
    expect(document.secret).toBe(signingSecret);
    expect(document.headers.signature).toBe('webhook-signature');

    // The downloaded secret verifies a signed request with a stock Standard Webhooks verifier.
    const body = '{"accountId":9090,"events":[]}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'dlv_x', 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([document.secret], 'dlv_x', ts, body) };
    expect(() => new StandardWebhook(document.secret).verify(body, headers)).not.toThrow();

    const rotated = await runtime.api(`/webhooks/${id}/signature/rotate`, { method: 'POST', accountId });
    expect(rotated.status).toBe(200);
    const rotation = (await rotated.json()) as { signingSecret: string; previousSecretExpiresAt: string };
    expect(rotation.signingSecret).not.toBe(signingSecret);
    const overlapHours = (Date.parse(rotation.previousSecretExpiresAt) - Date.now()) / 3_600_000;
    expect(overlapHours).toBeGreaterThan(23.9);
    expect(overlapHours).toBeLessThanOrEqual(24);

    const after = (await (await runtime.api(`/webhooks/${id}/signature`, { accountId })).json()) as { secret: string; secrets: { secret: string; expiresAt?: string }[] };
    expect(after.secret).toBe(rotation.signingSecret);
    expect(after.secrets.map((s) => s.secret)).toEqual([rotation.signingSecret, signingSecret]);
  });
});
