import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { TLSSocket } from 'node:tls';
import { isForbiddenAddress } from '../net/address-policy';
import { ForbiddenAddressError, GuardedHttpAgent, GuardedHttpsAgent } from '../net/guarded-agents';

/** One HTTP attempt of a webhook delivery: what goes out, and what came of it. */
export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface SendOptions {
  /** Whether loopback / private / reserved addresses may be reached. @default false */
  readonly allowPrivate?: boolean;
  /** DNS + TCP (+ TLS) until the socket is connected. @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** From connected until the response is complete. @default 5_000 */
  readonly responseTimeoutMs?: number;
  /** Bytes of the response body kept; the rest is never read. @default 20 * 1024 */
  readonly maxResponseBytes?: number;
}

export interface AttemptOutcome {
  /** 2xx only; redirects are not followed and count as failures. */
  readonly ok: boolean;
  readonly statusCode?: number;
  readonly durationMs: number;
  /** At most `maxResponseBytes` of the body, as UTF-8. */
  readonly responseBody?: string;
  /** Short reason of a failure, e.g. `connection refused`, `HTTP 500`. */
  readonly error?: string;
  /** From Retry-After on a 429 or 503 (delta-seconds or HTTP-date). */
  readonly retryAfterSeconds?: number;
}

const USER_AGENT = 'lms-webhooks/1.0';
const DEFAULTS = { allowPrivate: false, connectTimeoutMs: 10_000, responseTimeoutMs: 5_000, maxResponseBytes: 20 * 1024 };
const MAX_ERROR_LENGTH = 200;

/**
 * Keep-alive agents, once per container. Guarded and open traffic never share a pool, so a socket
 * opened where private targets are allowed is never reused where they are not. Idle sockets close
 * after 30 s, or a second before the server's announced keep-alive timeout.
 */
const POOL = { keepAlive: true, timeout: 30_000 } as const;
const AGENTS = {
  guarded: { 'http:': new GuardedHttpAgent(POOL), 'https:': new GuardedHttpsAgent(POOL) },
  open: { 'http:': new http.Agent(POOL), 'https:': new https.Agent(POOL) },
} as const;

/**
 * POSTs the body and reports the outcome. It never throws: every fault becomes a failed outcome
 * with a short reason, because the caller records attempts rather than handling exceptions.
 */
export async function sendWebhook(request: WebhookRequest, opts: SendOptions = {}): Promise<AttemptOutcome> {
  const started = performance.now();
  const limits = { ...DEFAULTS, ...compact(opts) };
  let result = await attempt(request, limits);
  // A pooled socket the server had already closed fails before any response; one fresh try.
  if (result.staleSocket) result = await attempt(request, limits);
  const { staleSocket: _, ...outcome } = result;
  return { ...outcome, durationMs: Math.round(performance.now() - started) };
}

type Limits = typeof DEFAULTS;
type Attempt = Omit<AttemptOutcome, 'durationMs'> & { readonly staleSocket?: boolean };

function attempt(request: WebhookRequest, limits: Limits): Promise<Attempt> {
  let target: URL;
  try {
    target = new URL(request.url);
  } catch {
    return Promise.resolve({ ok: false, error: 'invalid URL' });
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return Promise.resolve({ ok: false, error: `unsupported protocol ${target.protocol}` });
  }
  // Node connects to an IP-literal host without calling the lookup, so literals are judged here.
  const literal = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!limits.allowPrivate && isIP(literal) !== 0 && isForbiddenAddress(literal)) {
    return Promise.resolve({ ok: false, error: new ForbiddenAddressError(literal).message });
  }
  const agent = AGENTS[limits.allowPrivate ? 'open' : 'guarded'][target.protocol];
  return new Promise((resolve) => exchange(target, agent, request, limits, resolve));
}

function exchange(target: URL, agent: http.Agent, request: WebhookRequest, limits: Limits, resolve: (a: Attempt) => void): void {
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let response: http.IncomingMessage | undefined;
  const finish = (result: Attempt): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    resolve(result);
  };

  let req: http.ClientRequest;
  try {
    req = (target.protocol === 'https:' ? https : http).request(target, {
      method: 'POST',
      agent,
      headers: {
        ...request.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(request.body),
        'user-agent': USER_AGENT,
      },
    });
  } catch (err) {
    // e.g. a header value with characters HTTP does not allow
    finish({ ok: false, error: describeError(err) });
    return;
  }

  const abandon = (error: string): void => {
    finish(compact({ ok: false, statusCode: response?.statusCode, error }));
    req.destroy();
  };
  const startResponseTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => abandon(`response timeout after ${limits.responseTimeoutMs} ms`), limits.responseTimeoutMs);
  };
  timer = setTimeout(() => abandon(`connect timeout after ${limits.connectTimeoutMs} ms`), limits.connectTimeoutMs);

  req.on('socket', (socket: Socket) => {
    if (req.reusedSocket) startResponseTimer();
    else socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', startResponseTimer);
  });
  req.on('error', (err) => {
    const stale = req.reusedSocket && response === undefined && isReset(err);
    finish(compact({ ok: false, statusCode: response?.statusCode, error: describeError(err), staleSocket: stale || undefined }));
  });
  req.on('response', (res) => {
    response = res;
    const decoder = new StringDecoder('utf8');
    let body = '';
    let kept = 0;
    res.on('data', (chunk: Buffer) => {
      if (settled) return;
      const room = limits.maxResponseBytes - kept;
      if (chunk.length <= room) {
        kept += chunk.length;
        body += decoder.write(chunk);
        return;
      }
      // Enough: keep what fits, and drop the socket so the rest is neither read nor reused.
      body += decoder.write(chunk.subarray(0, room));
      finish(outcomeFor(res, body));
      req.destroy();
    });
    res.on('end', () => finish(outcomeFor(res, body + decoder.end())));
    res.on('error', (err) => finish({ ok: false, statusCode: res.statusCode, error: describeError(err) }));
    res.on('close', () => {
      if (!res.complete) finish({ ok: false, statusCode: res.statusCode, error: 'connection reset' });
    });
  });
  req.end(request.body);
}

function outcomeFor(res: http.IncomingMessage, responseBody: string): Attempt {
  const statusCode = res.statusCode ?? 0;
  if (statusCode >= 200 && statusCode < 300) return { ok: true, statusCode, responseBody };
  const error = statusCode >= 300 && statusCode < 400 ? `redirect (${statusCode}) not followed` : `HTTP ${statusCode}`;
  const retryAfterSeconds =
    statusCode === 429 || statusCode === 503 ? parseRetryAfter(res.headers['retry-after'], Date.now()) : undefined;
  return compact({ ok: false, statusCode, responseBody, error, retryAfterSeconds });
}

/** Retry-After as whole seconds from `now`: delta-seconds or an HTTP-date; undefined if unusable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  // Every HTTP-date form names the weekday and month; Date.parse alone would accept "-5".
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

function isReset(err: unknown): boolean {
  return RESET_CODES.has(codeOf(err) ?? '');
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const ERROR_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

function describeError(err: unknown): string {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ForbiddenAddressError) return message;
  if (code && ERROR_TEXT[code]) return ERROR_TEXT[code];
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') return `DNS lookup failed (${code})`;
  if (code === 'EPROTO' || /CERT|TLS|SSL/.test(code ?? '')) return `TLS error: ${message}`.slice(0, MAX_ERROR_LENGTH);
  return message.slice(0, MAX_ERROR_LENGTH);
}

/**
 * Drops undefined values: an explicit `undefined` option keeps its default, and outcomes are
 * stored as they are (DynamoDB refuses attributes whose value is undefined).
 */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
