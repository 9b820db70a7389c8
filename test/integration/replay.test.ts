import { eventually } from './support/eventually';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/** Replay of a time range: exactly the asked-for deliveries, in order, as the originals, once per request. */
jest.setTimeout(60_000);

let runtime: TestRuntime;
let listener: TestListener;
let lms: ReturnType<typeof producer>;
const accountId = 4201;
const data = { userId: 5, loId: 'course:2', loInstanceId: 'course:2_1', loType: 'course' };

beforeAll(async () => {
  listener = await startListener();
  runtime = await startTestRuntime({ RETRY_DELAYS_SECONDS: '1', RETRY_WINDOW_SECONDS: '3' });
  lms = producer(runtime.eventsUrl);
});
afterAll(async () => {
  lms.close();
  await runtime.stop();
  await listener.close();
});

interface ReplayBody {
  replayId: string;
  state: string;
  queued: number;
  sent: number;
  failed: number;
  remaining: number;
}

async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await runtime.api(path, { accountId, ...init })).json()) as T;
}

const eventIdOf = (body: string) => (JSON.parse(body) as { events: { eventId: string }[] }).events[0]!.eventId;

it('replays a range with FAILED and SUCCEEDED deliveries: exactly the requested ones, in order, with progress; the same request queues once', async () => {
  const t0 = Date.now() - 60_000;
  listener.respond(() => ({ status: 503 }));
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: 'replay', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  const { id } = (await created.json()) as { id: string };
  // e1 fails for good (the webhook is disabled, then re-enabled without resending it); e2, e3 succeed.
  await lms.put([lms.entry('COURSE_COMPLETED', { accountId, eventId: 'e1', timestamp: t0, data })]);
  await eventually(() => json<{ status: string }>(`/webhooks/${id}`), (w) => w.status === 'DISABLED');
  listener.respond(() => ({ status: 204 }));
  await runtime.api(`/webhooks/${id}`, { method: 'PATCH', accountId, body: JSON.stringify({ active: true, discardHeld: true }) });
  await lms.put([2, 3].map((n) => lms.entry('COURSE_COMPLETED', { accountId, eventId: `e${n}`, timestamp: t0 + n, data })));
  await eventually(
    () => json<{ items: unknown[] }>(`/webhooks/${id}/deliveries?status=SUCCEEDED`),
    (page) => page.items.length === 2,
  );
  const [failed] = (await json<{ items: { id: string }[] }>(`/webhooks/${id}/deliveries?status=FAILED`)).items;
  const range = { since: new Date(t0 - 1000).toISOString(), until: new Date(t0 + 1000).toISOString() };

  // Default statuses (FAILED, SKIPPED): only e1, sent as the original delivery, marked as a replay.
  let seen = listener.received.length;
  const first = await runtime.api(`/webhooks/${id}/replay`, { method: 'POST', accountId, body: JSON.stringify(range) });
  expect(first.status).toBe(202);
  const replay = (await first.json()) as ReplayBody;
  expect(first.headers.get('location')).toBe(`/webhooks/${id}/replays/${replay.replayId}`);
  expect(replay).toMatchObject({ state: 'queued', queued: 1 });
  const done = await eventually(() => json<ReplayBody>(`/webhooks/${id}/replays/${replay.replayId}`), (r) => r.sent === 1);
  expect(done).toMatchObject({ queued: 1, sent: 1, failed: 0, remaining: 0 });
  const [resent] = listener.received.slice(seen);
  expect(eventIdOf(resent!.body)).toBe('e1');
  expect(resent!.headers['webhook-id']).toBe(failed!.id);
  expect(resent!.headers['webhook-replay']).toBe(replay.replayId);

  // `all`: e1, e2, e3 in their original order.
  seen = listener.received.length;
  const all = { ...range, status: 'all' };
  const everything = (await json<ReplayBody>(`/webhooks/${id}/replay`, { method: 'POST', body: JSON.stringify(all) })) as ReplayBody;
  expect(everything.queued).toBe(3);
  await eventually(() => json<ReplayBody>(`/webhooks/${id}/replays/${everything.replayId}`), (r) => r.sent === 3);
  expect(listener.received.slice(seen).map((r) => eventIdOf(r.body))).toEqual(['e1', 'e2', 'e3']);

  // The same request again is the same replay: nothing more is queued.
  const again = await json<ReplayBody>(`/webhooks/${id}/replay`, { method: 'POST', body: JSON.stringify(all) });
  expect(again).toMatchObject({ replayId: everything.replayId, queued: 3, sent: 3, remaining: 0 });
  const log = await json<{ items: { replayOf?: { replayId: string } }[] }>(`/webhooks/${id}/deliveries?limit=100`);
  expect(log.items.filter((d) => d.replayOf?.replayId === everything.replayId)).toHaveLength(3);
});

it('refuses a range older than the log keeps, and an unknown replay is not found', async () => {
  const created = await runtime.api('/webhooks', {
    method: 'POST',
    accountId,
    body: JSON.stringify({ name: 'old', targetUrl: listener.url, auth: { type: 'NONE' }, events: ['COURSE_COMPLETED'] }),
  });
  const { id } = (await created.json()) as { id: string };
  const old = await runtime.api(`/webhooks/${id}/replay`, {
    method: 'POST',
    accountId,
    body: JSON.stringify({ since: '2020-01-01T00:00:00Z', until: new Date().toISOString() }),
  });
  expect(old.status).toBe(400);
  expect(JSON.stringify(await old.json())).toMatch(/the log keeps \d+ days/);
  expect((await runtime.api(`/webhooks/${id}/replays/rpl_nope`, { accountId })).status).toBe(404);

  // An `until` still ahead reads up to now, and the same request later is still the same replay.
  const ahead = JSON.stringify({ since: new Date(Date.now() - 60_000).toISOString(), until: new Date(Date.now() + 3600_000).toISOString() });
  const once = await json<ReplayBody>(`/webhooks/${id}/replay`, { method: 'POST', body: ahead });
  const twice = await json<ReplayBody>(`/webhooks/${id}/replay`, { method: 'POST', body: ahead });
  expect(twice).toEqual(once);
  expect(once).toMatchObject({ state: 'queued', queued: 0 });
});
