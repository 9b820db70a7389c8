import { createHash } from 'node:crypto';
import * as z from 'zod';
import { AccountIdSchema } from '../account';
import { findEvent, type DeliveryKind } from '../events/catalogue';
import { eventInfoFor, type LmsEvent } from '../events/envelope';
import { EVENT_SOURCE } from '../events/sources';

/**
 * What producers put on the bus (CONTRACT §3), as the EventBridge → SQS target delivers it, checked
 * against the catalogue. Missing eventId / timestamp / eventInfo are filled in deterministically
 * from the EventBridge event, so a retried ingest message yields the very same event.
 */
const EventBridgeEnvelopeSchema = z.looseObject({
  id: z.string().min(1),
  'detail-type': z.string(),
  source: z.string(),
  time: z.string(),
  detail: z.unknown(),
});

const DetailSchema = z.looseObject({
  accountId: AccountIdSchema,
  data: z.record(z.string(), z.unknown()),
  eventId: z.string().min(1).max(128).optional(),
  timestamp: z.number().int().positive().max(8.64e15).optional(),
  eventInfo: z.string().min(1).max(128).optional(),
});

export type Validation =
  | {
      readonly ok: true;
      readonly accountId: number;
      readonly kind: DeliveryKind;
      readonly event: LmsEvent;
      readonly arrivedAt: number;
      /** The producer left out `timestamp`: it was filled from the bus event's time (whole seconds). */
      readonly timestampFilled: boolean;
      /** The producer left out `eventInfo`: it was derived from the timestamp. */
      readonly eventInfoFilled: boolean;
    }
  | { readonly ok: false; readonly reason: string; readonly accountId?: number; readonly eventName?: string };

export function validateProducerEvent(body: string): Validation {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'message is not JSON' };
  }
  const inexact = inexactIntegers(body);
  if (inexact.length > 0) {
    const detail = (raw as { detail?: { accountId?: unknown } } | null)?.detail;
    const account = AccountIdSchema.safeParse(detail?.accountId);
    const eventName = (raw as { 'detail-type'?: unknown } | null)?.['detail-type'];
    return {
      ok: false,
      reason: `the number ${inexact[0]!.slice(0, 40)} has more digits than a JSON number keeps exactly (integers beyond 2^53); send it as a string`,
      ...(typeof eventName === 'string' && { eventName }),
      ...(account.success && { accountId: account.data }),
    };
  }
  const envelope = EventBridgeEnvelopeSchema.safeParse(raw);
  if (!envelope.success) return { ok: false, reason: 'not an EventBridge event' };
  const eventName = envelope.data['detail-type'];
  if (envelope.data.source !== EVENT_SOURCE) return { ok: false, reason: `source must be "${EVENT_SOURCE}"`, eventName };

  const detail = DetailSchema.safeParse(envelope.data.detail);
  const maybeAccount = AccountIdSchema.safeParse((envelope.data.detail as { accountId?: unknown } | null)?.accountId);
  const accountId = maybeAccount.success ? maybeAccount.data : undefined;
  const context = { eventName, ...(accountId !== undefined && { accountId }) };
  const catalogued = findEvent(eventName);
  if (!catalogued) return { ok: false, reason: `unknown event name "${eventName.slice(0, 100)}"`, ...context };
  if (!detail.success) return { ok: false, reason: `invalid detail: ${describe(detail.error)}`, ...context };
  const data = catalogued.dataSchema.safeParse(detail.data.data);
  if (!data.success) return { ok: false, reason: `invalid data for ${eventName}: ${describe(data.error)}`, ...context };

  const arrivedAt = Date.parse(envelope.data.time);
  const eventId = detail.data.eventId ?? envelope.data.id;
  const timestamp = detail.data.timestamp ?? (Number.isFinite(arrivedAt) ? arrivedAt : Date.now());
  return {
    ok: true,
    accountId: detail.data.accountId,
    kind: catalogued.delivery,
    arrivedAt: Number.isFinite(arrivedAt) ? arrivedAt : Date.now(),
    timestampFilled: detail.data.timestamp === undefined,
    eventInfoFilled: detail.data.eventInfo === undefined,
    event: {
      eventId,
      eventName,
      timestamp,
      eventInfo: detail.data.eventInfo ?? eventInfoFor(timestamp, sequenceOf(eventId)),
      data: data.data,
    },
  };
}

/**
 * Integer literals in JSON text that a JavaScript number cannot hold exactly (beyond 2^53, like
 * 1727414643000000001): stored and sent, they would arrive changed, so such events are rejected
 * with the reason. Integers a double holds exactly (1727414643000000000) are fine.
 */
export function inexactIntegers(json: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === '"') {
      // Skip the string, escapes included.
      for (i++; i < json.length && json[i] !== '"'; i++) if (json[i] === '\\') i++;
      continue;
    }
    if (c !== '-' && (c < '0' || c > '9')) continue;
    let end = i + 1;
    while (end < json.length && /[\d.eE+-]/.test(json[end]!)) end++;
    const token = json.slice(i, end);
    if (/^-?\d{16,}$/.test(token) && BigInt(token) !== BigInt(Number(token))) found.push(token);
    i = end - 1;
  }
  return found;
}

/**
 * The key whose events must be routed one after another (the account), read cheaply from the
 * raw message; anything unparseable shares one key, and is rejected in turn.
 */
export function orderingKey(body: string): string {
  try {
    const accountId = (JSON.parse(body) as { detail?: { accountId?: unknown } }).detail?.accountId;
    return typeof accountId === 'number' || typeof accountId === 'string' ? String(accountId) : '';
  } catch {
    return '';
  }
}

/** A stable 0–999999 tiebreaker for events of the same millisecond. */
export function sequenceOf(eventId: string): number {
  return createHash('sha256').update(eventId).digest().readUInt32BE(0) % 1_000_000;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
