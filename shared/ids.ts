import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Time-ordered ids (48-bit millisecond time + 80 random bits, Crockford base32, lower case), so
 * keys built from them sort by creation time. `prefix` names the kind, as Svix does (`wh_`, `dlv_`).
 */
export function newId(prefix: string, now = Date.now()): string {
  return `${prefix}_${timePart(now)}${base32(randomBytes(16))}`;
}

/**
 * The same shape, but deterministic: the time part from `timeMs`, the rest from a hash of `seed`.
 * The same (time, seed) always gives the same id, so writing it twice is one item.
 */
export function derivedId(prefix: string, timeMs: number, seed: string): string {
  return `${prefix}_${timePart(timeMs)}${base32(createHash('sha256').update(seed).digest())}`;
}

/** Ten base32 digits of milliseconds (48 bits), clamped so far-future times still sort last. */
function timePart(ms: number): string {
  let time = '';
  let t = Math.min(Math.max(0, Math.floor(ms)), 32 ** 10 - 1);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

function base32(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < 16; i++) text += ALPHABET[bytes[i]! % 32];
  return text;
}

export const ID_PATTERN = /^[a-z]{1,5}_[0-9a-hjkmnp-tv-z]{26}$/;

/** The lowest id of `prefix` at `timeMs`: every id made at or after that time sorts at or above it. */
export function idFloor(prefix: string, timeMs: number): string {
  return `${prefix}_${timePart(timeMs)}`;
}

/** The millisecond time an id (from `newId` or `derivedId`) starts with. */
export function timeOfId(id: string): number {
  const time = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11);
  let ms = 0;
  for (const digit of time) ms = ms * 32 + ALPHABET.indexOf(digit);
  return ms;
}
