import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';

/**
 * A real HTTP listener on loopback that records what it receives and answers as each test scripts
 * it (status, headers, delay, or a dropped connection).
 */
export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'reset';

export interface TestListener {
  readonly url: string;
  readonly received: Received[];
  /** Decides the answer to the n-th request (0-based) of a path. */
  respond(fn: (request: Received, index: number) => Reply): void;
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startListener(): Promise<TestListener> {
  const received: Received[] = [];
  let decide: (request: Received, index: number) => Reply = () => ({ status: 202 });
  // Delayed answers still pending at close are dropped, so no timer outlives the listener.
  const pendingReplies = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: Received = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(request);
      const reply = decide(request, received.length - 1);
      if (reply === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      const timer = setTimeout(() => {
        pendingReplies.delete(timer);
        if (res.destroyed) return;
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      }, reply.delayMs ?? 0);
      pendingReplies.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    respond(fn) {
      decide = fn;
    },
    async waitFor(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`listener got ${received.length} of ${count} requests in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return received.slice(0, count);
    },
    async close() {
      for (const timer of pendingReplies) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
