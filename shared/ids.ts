import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Time-ordered ids (48-bit millisecond time + 80 random bits, Crockford base32, lower case), so
 * keys built from them sort by creation time. `prefix` names the kind, as Svix does (`wh_`, `dlv_`).
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET[bytes[i]! % 32];
  return `${prefix}_${time}${random}`;
}

export const ID_PATTERN = /^[a-z]{1,5}_[0-9a-hjkmnp-tv-z]{26}$/;
