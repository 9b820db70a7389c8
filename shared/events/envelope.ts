import { signatureHeader } from '../signing';

/** One event as ALM listeners receive it inside the envelope's `events`. */
export interface LmsEvent {
  readonly eventId: string;
  readonly eventName: string;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  /** Opaque, per-account increasing ordering key (see `eventInfoFor`). */
  readonly eventInfo: string;
  readonly data: Record<string, unknown>;
}

/** Only the documented fields, in ALM's order, whatever else the stored event carries. */
function wireEvent(e: LmsEvent): LmsEvent {
  return { eventId: e.eventId, eventName: e.eventName, timestamp: e.timestamp, eventInfo: e.eventInfo, data: e.data };
}

/** The request body: `{"accountId":…,"events":[…]}`, events in the given order. */
export function envelopeBody(accountId: number, events: readonly LmsEvent[]): string {
  return JSON.stringify({ accountId, events: events.map(wireEvent) });
}

export interface BatchLimits {
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly accountId: number;
}

/**
 * Splits batch events into request-sized chunks: timestamp order (ties keep the given order),
 * packed greedily so every chunk's envelope is within both limits. An event too big for any
 * envelope travels alone rather than being dropped; the listener decides what to do with it.
 */
export function chunkForBatches(events: readonly LmsEvent[], limits: BatchLimits): LmsEvent[][] {
  const { maxEvents, maxBytes, accountId } = limits;
  const emptyBytes = Buffer.byteLength(envelopeBody(accountId, []));
  const sorted = [...events].sort((a, b) => a.timestamp - b.timestamp);

  const chunks: LmsEvent[][] = [];
  let chunk: LmsEvent[] = [];
  let bytes = emptyBytes;
  for (const event of sorted) {
    const eventBytes = Buffer.byteLength(JSON.stringify(wireEvent(event)));
    // `+ 1`: the comma before it.
    const fits = chunk.length < maxEvents && bytes + 1 + eventBytes <= maxBytes;
    if (chunk.length > 0 && !fits) {
      chunks.push(chunk);
      chunk = [];
      bytes = emptyBytes;
    }
    bytes += (chunk.length > 0 ? 1 : 0) + eventBytes;
    chunk.push(event);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

const SEQUENCE_DIGITS = 6;
const SEQUENCE_SPAN = 10 ** SEQUENCE_DIGITS;

/**
 * An `eventInfo` in ALM's observed shape `<epochMs>-<6 digits>-<n>-<n>`: the event time, then the
 * caller's per-account sequence number split into its low six digits and the rest, then 0. It is
 * an ordering key, not a counter listeners should interpret.
 */
export function eventInfoFor(timestampMs: number, sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`sequence must be a non-negative integer, got ${sequence}`);
  const low = String(sequence % SEQUENCE_SPAN).padStart(SEQUENCE_DIGITS, '0');
  return `${timestampMs}-${low}-${Math.floor(sequence / SEQUENCE_SPAN)}-0`;
}

export type DeliveryAuth =
  | { readonly type: 'NONE' }
  | { readonly type: 'BASIC'; readonly username: string; readonly password: string }
  | { readonly type: 'SIGNATURE'; readonly secrets: readonly string[] };

export interface DeliveryHeaderInput {
  /** The delivery's id: the same on every retry, so listeners can dedupe. */
  readonly messageId: string;
  /** Unix seconds of this attempt. */
  readonly timestampSeconds: number;
  readonly body: string;
  readonly auth: DeliveryAuth;
  /** Set on a replay's copy: sent as `webhook-replay`, so the listener knows it may have seen it. */
  readonly replayId?: string;
}

/** Standard Webhooks headers, plus the signature or Basic credentials the webhook's auth asks for. */
export function deliveryHeaders(input: DeliveryHeaderInput): Record<string, string> {
  const { messageId, timestampSeconds, body, auth, replayId } = input;
  const headers: Record<string, string> = { 'webhook-id': messageId, 'webhook-timestamp': String(timestampSeconds) };
  if (replayId !== undefined) headers['webhook-replay'] = replayId;
  switch (auth.type) {
    case 'SIGNATURE':
      headers['webhook-signature'] = signatureHeader(auth.secrets, messageId, timestampSeconds, body);
      break;
    case 'BASIC':
      headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
      break;
    case 'NONE':
      break;
  }
  return headers;
}
