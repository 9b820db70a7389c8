import * as z from 'zod';
import { DELIVERY_STATUSES } from '../deliveries/model';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors';
import type { OperationId } from './routes';
import { fieldErrors } from './problem';

/** An API request as the core sees it, whether it came from API Gateway or the local server. */
export interface ApiRequest {
  readonly operationId: OperationId;
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  /** JWT claims as API Gateway's authorizer passes them: every value a string. */
  readonly claims?: Readonly<Record<string, string>>;
}

export interface ApiResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

export const MAX_BODY_BYTES = 64 * 1024;

/** The JSON body, checked for size, media type and syntax, then against `schema`. */
export function jsonBody<T extends z.ZodType>(request: ApiRequest, schema: T): z.infer<T> {
  const raw = request.body === undefined ? '' : request.isBase64Encoded ? Buffer.from(request.body, 'base64').toString('utf8') : request.body;
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`The body is over ${MAX_BODY_BYTES / 1024} KB.`);
  }
  const contentType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/json' && !contentType?.endsWith('+json')) {
    throw new UnsupportedMediaTypeError('Send the body as application/json.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ValidationError('The body is not valid JSON.', [{ field: '(body)', message: 'malformed JSON' }]);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new ValidationError('The body has invalid fields.', fieldErrors(result.error));
  return result.data;
}

export function queryParameters<T extends z.ZodType>(request: ApiRequest, schema: T): z.infer<T> {
  const result = schema.safeParse(request.query);
  if (!result.success) throw new ValidationError('Invalid query parameters.', fieldErrors(result.error));
  return result.data;
}

/** Paging of every list: `limit` 1–100 (default 20) and the `nextToken` the previous page returned. */
export const ListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  nextToken: z.string().min(1).max(2048).optional(),
});

/**
 * Paging of one delivery's attempts. A page of 100 attempts (each answer body truncated) stays far
 * inside a Lambda response, however long the delivery was retried.
 */
export const ATTEMPTS_PAGE_MAX = 100;
export const AttemptsQuerySchema = ListQuerySchema.extend({ limit: z.coerce.number().int().min(1).max(ATTEMPTS_PAGE_MAX).default(ATTEMPTS_PAGE_MAX) });

export const DeliveryListQuerySchema = ListQuerySchema.extend({ status: z.enum(DELIVERY_STATUSES).optional() });
