import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { sendWebhook, type SendOptions } from '../../shared/dispatch/http-sender';
import { ForbiddenAddressError, GuardedHttpAgent, GuardedHttpsAgent } from '../../shared/net/guarded-agents';

/** A listener on 127.0.0.1 that records what reached it. */
interface Listener {
  readonly url: string;
  readonly port: number;
  /** TCP connections accepted. */
  readonly connections: net.Socket[];
  /** HTTP requests received (http listeners only). */
  readonly requests: { headers: http.IncomingHttpHeaders; body: string; socket: net.Socket }[];
}

const servers: { server: net.Server; connections: net.Socket[] }[] = [];

/** The client side of each request sendWebhook makes, observed through Node's diagnostics channel. */
const clientRequests: http.ClientRequest[] = [];
const recordRequest = (message: unknown): void => void clientRequests.push((message as { request: http.ClientRequest }).request);
const clientSockets = (): net.Socket[] => clientRequests.map((r) => r.socket!);
beforeAll(() => diagnosticsChannel.subscribe('http.client.request.start', recordRequest));
afterAll(() => diagnosticsChannel.unsubscribe('http.client.request.start', recordRequest));
beforeEach(() => clientRequests.splice(0));

afterEach(async () => {
  for (const { server, connections } of servers.splice(0)) {
    for (const socket of connections) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function start(server: net.Server, scheme = 'http'): Promise<Listener> {
  const connections: net.Socket[] = [];
  servers.push({ server, connections });
  server.on('connection', (socket: net.Socket) => connections.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return { url: `${scheme}://127.0.0.1:${port}/hook`, port, connections, requests: [] };
}

/** An HTTP listener; `respond` answers each request after its body has arrived. */
async function httpListener(respond: (res: http.ServerResponse, req: http.IncomingMessage) => void): Promise<Listener> {
  const server = http.createServer();
  const listener = await start(server);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      listener.requests.push({ headers: req.headers, body, socket: req.socket });
      respond(res, req);
    });
  });
  return listener;
}

/** A raw TCP listener, for faults no well-behaved HTTP server produces. */
async function tcpListener(onData: (socket: net.Socket) => void, scheme = 'http'): Promise<Listener> {
  const server = net.createServer((socket) => socket.once('data', () => onData(socket)));
  return start(server, scheme);
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const LOCAL: SendOptions = { allowPrivate: true };
const body = JSON.stringify({ accountId: 1010, events: [] });
const send = (url: string, opts: SendOptions = LOCAL) => sendWebhook({ url, headers: { 'webhook-id': 'dlv_1' }, body }, opts);

describe('sendWebhook against a real listener', () => {
  it('delivers with 202, sending the body and headers, and reuses the keep-alive socket', async () => {
    const listener = await httpListener((res) => res.writeHead(202).end('accepted'));

    const first = await send(listener.url);
    const second = await send(listener.url);

    for (const outcome of [first, second]) {
      expect(outcome).toEqual({ ok: true, statusCode: 202, responseBody: 'accepted', durationMs: expect.any(Number) });
    }
    expect(listener.requests).toHaveLength(2);
    const [received] = listener.requests;
    expect(received!.body).toBe(body);
    expect(received!.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'dlv_1',
      'user-agent': expect.stringMatching(/^lms-webhooks\//),
      connection: 'keep-alive',
    });
    expect(listener.connections).toHaveLength(1);
    expect(listener.requests[1]!.socket).toBe(listener.requests[0]!.socket);
  });

  it.each([500, 404])('reports HTTP %i as a failure, keeping the response body', async (status) => {
    const listener = await httpListener((res) => res.writeHead(status).end('{"message":"nope"}'));
    await expect(send(listener.url)).resolves.toEqual({
      ok: false,
      statusCode: status,
      error: `HTTP ${status}`,
      responseBody: '{"message":"nope"}',
      durationMs: expect.any(Number),
    });
  });

  it('reads Retry-After in seconds on 429', async () => {
    const listener = await httpListener((res) => res.writeHead(429, { 'retry-after': '120' }).end());
    await expect(send(listener.url)).resolves.toMatchObject({ ok: false, statusCode: 429, error: 'HTTP 429', retryAfterSeconds: 120 });
  });

  it('reads Retry-After as an HTTP-date on 429', async () => {
    const at = new Date(Date.now() + 90_000).toUTCString();
    const listener = await httpListener((res) => res.writeHead(429, { 'retry-after': at }).end());
    const outcome = await send(listener.url);
    expect(outcome).toMatchObject({ ok: false, statusCode: 429 });
    // The date has one-second resolution, so the wait is 89–90 s from whenever the header is read.
    expect(outcome.retryAfterSeconds).toBeGreaterThanOrEqual(88);
    expect(outcome.retryAfterSeconds).toBeLessThanOrEqual(90);
  });

  it('reports 503 with its Retry-After, and without one', async () => {
    let retryAfter: string | undefined = '30';
    const listener = await httpListener((res) => res.writeHead(503, retryAfter ? { 'retry-after': retryAfter } : {}).end());
    await expect(send(listener.url)).resolves.toMatchObject({ ok: false, statusCode: 503, error: 'HTTP 503', retryAfterSeconds: 30 });
    retryAfter = undefined;
    const outcome = await send(listener.url);
    expect(outcome).toMatchObject({ ok: false, statusCode: 503 });
    expect(outcome).not.toHaveProperty('retryAfterSeconds');
  });

  it('ignores Retry-After on other statuses', async () => {
    const listener = await httpListener((res) => res.writeHead(500, { 'retry-after': '30' }).end());
    expect(await send(listener.url)).not.toHaveProperty('retryAfterSeconds');
  });

  it('does not follow a redirect', async () => {
    const listener = await httpListener((res, req) =>
      req.url === '/hook' ? res.writeHead(301, { location: '/elsewhere' }).end() : res.writeHead(200).end(),
    );
    await expect(send(listener.url)).resolves.toMatchObject({ ok: false, statusCode: 301, error: 'redirect (301) not followed' });
    expect(listener.requests).toHaveLength(1);
  });

  it('gives up when no response comes in time', async () => {
    const listener = await httpListener(() => undefined);
    await expect(send(listener.url, { ...LOCAL, responseTimeoutMs: 200 })).resolves.toEqual({
      ok: false,
      error: 'response timeout after 200 ms',
      durationMs: expect.any(Number),
    });
    expect(listener.requests).toHaveLength(1);
  });

  it('gives up when the headers arrive but the body stalls', async () => {
    const listener = await httpListener((res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    // Long enough for the headers to arrive on a busy machine, so the outcome reliably names the status.
    await expect(send(listener.url, { ...LOCAL, responseTimeoutMs: 1000 })).resolves.toEqual({
      ok: false,
      statusCode: 200,
      error: 'response timeout after 1000 ms',
      durationMs: expect.any(Number),
    });
  });

  it('reports a closed port as connection refused', async () => {
    const port = await closedPort();
    await expect(send(`http://127.0.0.1:${port}/hook`)).resolves.toEqual({
      ok: false,
      error: 'connection refused',
      durationMs: expect.any(Number),
    });
  });

  it('reports a connection reset (RST) in the middle of the response', async () => {
    const listener = await tcpListener((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial', () => socket.resetAndDestroy());
    });
    await expect(send(listener.url)).resolves.toMatchObject({ ok: false, statusCode: 200, error: 'connection reset' });
  });

  it('reports a connection closed before the response was complete', async () => {
    const listener = await tcpListener((socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
    });
    await expect(send(listener.url)).resolves.toMatchObject({ ok: false, statusCode: 200, error: 'connection reset' });
  });

  it('reports a connection dropped before any response', async () => {
    const listener = await tcpListener((socket) => socket.destroy());
    await expect(send(listener.url)).resolves.toEqual({ ok: false, error: 'connection reset', durationMs: expect.any(Number) });
  });

  it('keeps only 20 KB of a 10 MB body and drops the connection instead of reading the rest', async () => {
    const listener = await httpListener((res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('é'.repeat(5 * 1024 * 1024)));

    const outcome = await send(listener.url);

    expect(outcome).toMatchObject({ ok: true, statusCode: 200 });
    // 10 240 two-byte characters: the cut lands on a character boundary, nothing half-decoded.
    expect(outcome.responseBody).toBe('é'.repeat(10 * 1024));
    const [socket] = clientSockets();
    expect(socket!.destroyed).toBe(true);
    expect(socket!.bytesRead).toBeLessThan(1024 * 1024);
    // The cut-off socket is not reused: the next delivery opens a new one.
    await send(listener.url);
    expect(listener.connections).toHaveLength(2);
  });

  it('cuts a body at the limit without splitting a character', async () => {
    const listener = await httpListener((res) => res.writeHead(200).end('aé'.repeat(10)));
    // 5 bytes end inside the second 'é': only whole characters are kept.
    await expect(send(listener.url, { ...LOCAL, maxResponseBytes: 5 })).resolves.toMatchObject({ responseBody: 'aéa' });
  });

  it('retries once on a fresh connection when a pooled socket turns out to be closed', async () => {
    const perSocket = new Map<net.Socket, number>();
    const listener = await httpListener((res, req) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      // The server forgets idle connections: a second request on one is dropped unanswered.
      if (n > 1) req.socket.destroy();
      else res.writeHead(204).end();
    });
    await expect(send(listener.url)).resolves.toMatchObject({ ok: true, statusCode: 204 });
    await expect(send(listener.url)).resolves.toMatchObject({ ok: true, statusCode: 204 });
    expect(listener.connections).toHaveLength(2);
  });

  it('gives up on a TLS handshake that never completes (connect timeout covers TLS)', async () => {
    const listener = await tcpListener(() => undefined, 'https');
    await expect(send(listener.url, { ...LOCAL, connectTimeoutMs: 200 })).resolves.toEqual({
      ok: false,
      error: 'connect timeout after 200 ms',
      durationMs: expect.any(Number),
    });
  });

  it('reports a TLS failure', async () => {
    const listener = await httpListener((res) => res.end());
    const outcome = await send(listener.url.replace('http:', 'https:'));
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/^TLS error: /) });
  });

  it('turns unusable input into failed outcomes', async () => {
    const listener = await httpListener((res) => res.end());
    await expect(send('not a url')).resolves.toMatchObject({ ok: false, error: 'invalid URL' });
    await expect(send('ftp://127.0.0.1/x')).resolves.toMatchObject({ ok: false, error: 'unsupported protocol ftp:' });
    const badHeader = await sendWebhook({ url: listener.url, headers: { 'x-bad': 'a\r\nb' }, body }, LOCAL);
    expect(badHeader).toMatchObject({ ok: false, error: expect.stringContaining('x-bad') });
    expect(listener.connections).toHaveLength(0);
  });

  describe('when private targets are not allowed', () => {
    it.each([
      ['an IPv4 loopback literal', (port: number) => `http://127.0.0.1:${port}/hook`, /^forbidden address 127\.0\.0\.1$/],
      ['an IPv4-mapped IPv6 literal', (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`, /^forbidden address ::ffff:7f00:1$/],
      ['an IPv6 loopback literal', (port: number) => `http://[::1]:${port}/hook`, /^forbidden address ::1$/],
      ['a name that resolves to loopback', (port: number) => `http://localhost:${port}/hook`, /^forbidden address (127\.0\.0\.1|::1)$/],
      ['a name that resolves to loopback, over https', (port: number) => `https://localhost:${port}/hook`, /^forbidden address (127\.0\.0\.1|::1)$/],
    ])('refuses %s without connecting', async (_, urlFor, error) => {
      const listener = await httpListener((res) => res.end());
      const outcome = await sendWebhook({ url: urlFor(listener.port), headers: {}, body });
      expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(error) });
      expect(outcome).not.toHaveProperty('statusCode');
      expect(listener.connections).toHaveLength(0);
    });
  });
});

describe('guarded agents', () => {
  /** Sends through an agent directly, bypassing sendWebhook's own IP-literal check. */
  function post(agent: http.Agent, url: string): Promise<unknown> {
    return new Promise((resolve) => {
      const req = (url.startsWith('https:') ? https : http).request(url, { method: 'POST', agent });
      req.on('error', resolve);
      req.on('response', () => resolve('answered'));
      req.end('{}');
    });
  }

  it.each([
    ['http', () => new GuardedHttpAgent()],
    ['https', () => new GuardedHttpsAgent()],
  ])('checks the connected peer over %s, so nothing is sent to a forbidden address', async (scheme, agentFor) => {
    const server = net.createServer();
    // What reached the listener, once the client has hung up.
    const received = new Promise<Buffer>((resolve) =>
      server.once('connection', (socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (chunk) => chunks.push(chunk)).on('error', () => undefined);
        socket.on('close', () => resolve(Buffer.concat(chunks)));
      }),
    );
    const listener = await start(server, scheme);
    const agent = agentFor();

    const result = await post(agent, listener.url);

    expect(result).toBeInstanceOf(ForbiddenAddressError);
    expect((result as Error).message).toBe('forbidden address 127.0.0.1');
    // A literal host skips the lookup, so the TCP handshake happens; then the client hangs up. Over
    // http not a byte follows; over https at most a ClientHello, never answered, so no request.
    const bytes = await received;
    if (scheme === 'http') expect(bytes.length).toBe(0);
    agent.destroy();
  });
});
