import { ValidationError } from '../errors';

/**
 * Opaque page tokens: the DynamoDB key to continue from, base64url-encoded. A token is only valid
 * for the query it came from — exactly that query's key attributes, its partition, its sort-key
 * range — so a token cannot be replayed to read another account's items, and a crafted one is a
 * 400 rather than DynamoDB refusing the start key.
 */
export interface Page<T> {
  readonly items: T[];
  readonly nextToken?: string;
}

/** What the key a query returns as LastEvaluatedKey looks like: every attribute is a string. */
export interface PageKeyShape {
  /** Attributes whose value is fixed by the query (its partition). */
  readonly equal: Readonly<Record<string, string>>;
  /** Attributes within the query's range: each must start with its prefix. */
  readonly prefixed: Readonly<Record<string, string>>;
  /** Any other key attributes (an index's sort key). */
  readonly other?: readonly string[];
}

/** DynamoDB's sort-key limit is 1,024 bytes; ours are far shorter. */
const MAX_KEY_VALUE_BYTES = 512;

export function encodePageToken(lastKey: Record<string, unknown> | undefined): string | undefined {
  return lastKey ? Buffer.from(JSON.stringify(lastKey)).toString('base64url') : undefined;
}

export function decodePageToken(token: string | undefined, shape: PageKeyShape): Record<string, string> | undefined {
  if (token === undefined) return undefined;
  const invalid = new ValidationError('nextToken is not a token this list returned; start again without it.', [
    { field: 'nextToken', message: 'invalid page token' },
  ]);
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid;
  const record = key as Record<string, unknown>;
  const expected = [...Object.keys(shape.equal), ...Object.keys(shape.prefixed), ...(shape.other ?? [])];
  const names = Object.keys(record);
  if (names.length !== expected.length || !expected.every((name) => names.includes(name))) throw invalid;
  const values = record as Record<string, string>;
  for (const name of expected) {
    const value = values[name];
    if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > MAX_KEY_VALUE_BYTES) throw invalid;
  }
  const inPartition = Object.entries(shape.equal).every(([name, value]) => values[name] === value);
  const inRange = Object.entries(shape.prefixed).every(([name, prefix]) => values[name]!.startsWith(prefix) && values[name] !== prefix);
  if (!inPartition || !inRange) throw invalid;
  return values;
}
