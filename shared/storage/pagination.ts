import { ValidationError } from '../errors';

/**
 * Opaque page tokens: the DynamoDB key to continue from, base64url-encoded. A token is only valid
 * for the partition it came from, so a token cannot be replayed to read another account's items.
 */
export interface Page<T> {
  readonly items: T[];
  readonly nextToken?: string;
}

export function encodePageToken(lastKey: Record<string, unknown> | undefined): string | undefined {
  return lastKey ? Buffer.from(JSON.stringify(lastKey)).toString('base64url') : undefined;
}

export function decodePageToken(token: string | undefined, partition: { name: string; value: string }): Record<string, unknown> | undefined {
  if (token === undefined) return undefined;
  const invalid = new ValidationError('nextToken is not a token this list returned', [{ field: 'nextToken', message: 'invalid page token' }]);
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid;
  const record = key as Record<string, unknown>;
  const valuesAreStrings = Object.values(record).every((v) => typeof v === 'string' && v.length <= 512);
  if (!valuesAreStrings || record[partition.name] !== partition.value) throw invalid;
  return record;
}
