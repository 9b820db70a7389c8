import { createServer } from 'node:http';
import { Webhook as StandardWebhook } from 'standardwebhooks';

/**
 * The benchmark's webhook listener, in its own process (as a customer's endpoint would be): answers
 * every POST with 200 on a keep-alive connection and measures, from the `sentAt` (epoch ms) the
 * producer put in each event's data, how long the event took to arrive. It also checks what a
 * benchmark must not hide: duplicate deliveries, per-webhook order (the `seq` in the data) and
 * the signature of each webhook's first request. Driven by the parent over IPC, which may also make
 * it answer late.
 */
export type ListenerCommand =
  | { readonly type: 'reset' }
  | { readonly type: 'secrets'; readonly secrets: Record<string, string> }
  | { readonly type: 'answer-after'; readonly ms: number }
  | { readonly type: 'stats'; readonly id: number; readonly latencies?: boolean };

export interface ListenerStats {
  readonly received: number;
  /** Epoch ms of the first and the last request since the last reset. */
  readonly firstAt: number;
  readonly lastAt: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly badSignatures: number;
  readonly signaturesChecked: number;
  readonly peakInFlight: number;
  /** PutEvents → listener, ms, in arrival order (only when asked for). */
  readonly latencies?: number[];
}

export type ListenerMessage = { readonly type: 'ready'; readonly url: string } | { readonly type: 'stats'; readonly id: number; readonly stats: ListenerStats };

interface DeliveryBody {
  accountId?: number;
  events?: { eventName?: string; data?: { sentAt?: number; seq?: number } }[];
}

let answerAfterMs = 0;
let secrets = new Map<string, StandardWebhook>();
let state = fresh();

function fresh() {
  return {
    received: 0,
    firstAt: 0,
    lastAt: 0,
    duplicates: 0,
    outOfOrder: 0,
    badSignatures: 0,
    signaturesChecked: 0,
    inFlight: 0,
    peakInFlight: 0,
    latencies: [] as number[],
    seen: new Set<string>(),
    lastSeq: new Map<string, number>(),
    verified: new Set<string>(),
  };
}

const server = createServer((req, res) => {
  const s = state;
  s.inFlight++;
  s.peakInFlight = Math.max(s.peakInFlight, s.inFlight);
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    const body = Buffer.concat(chunks).toString('utf8');
    s.received++;
    if (s.firstAt === 0) s.firstAt = now;
    s.lastAt = now;
    const id = String(req.headers['webhook-id']);
    if (s.seen.has(id)) s.duplicates++;
    else s.seen.add(id);
    const parsed = JSON.parse(body) as DeliveryBody;
    const event = parsed.events?.[0];
    if (typeof event?.data?.sentAt === 'number') s.latencies.push(now - event.data.sentAt);
    const group = `${parsed.accountId}:${event?.eventName}`;
    if (typeof event?.data?.seq === 'number') {
      if (event.data.seq <= (s.lastSeq.get(group) ?? -1)) s.outOfOrder++;
      else s.lastSeq.set(group, event.data.seq);
    }
    const verifier = secrets.get(group);
    if (verifier && !s.verified.has(group)) {
      s.verified.add(group);
      s.signaturesChecked++;
      try {
        verifier.verify(body, req.headers as Record<string, string>);
      } catch {
        s.badSignatures++;
      }
    }
    const answer = () => {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    };
    if (answerAfterMs > 0) setTimeout(answer, answerAfterMs);
    else answer();
  });
  res.on('close', () => s.inFlight--);
});

process.on('message', (command: ListenerCommand) => {
  switch (command.type) {
    case 'reset':
      state = fresh();
      break;
    case 'answer-after':
      answerAfterMs = command.ms;
      break;
    case 'secrets':
      secrets = new Map(Object.entries(command.secrets).map(([group, secret]) => [group, new StandardWebhook(secret)]));
      break;
    case 'stats': {
      const { seen: _seen, lastSeq: _lastSeq, verified: _verified, inFlight: _inFlight, latencies, ...counts } = state;
      const stats: ListenerStats = { ...counts, ...(command.latencies && { latencies }) };
      send({ type: 'stats', id: command.id, stats });
      break;
    }
  }
});
// The parent is gone: nothing left to listen for.
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});

function send(message: ListenerMessage): void {
  process.send?.(message);
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  send({ type: 'ready', url: `http://127.0.0.1:${port}/hook` });
});
