/**
 * Typed domain errors. The API maps them to HTTP status and RFC 9457 problem+json in one place
 * (`shared/api/problem.ts`); anything else becomes a generic 500 that leaks nothing.
 */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  constructor(
    message: string,
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  readonly status = 400;
  readonly title = 'Invalid request';
}
export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly title = 'Unauthorized';
}
export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly title = 'Forbidden';
}
export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly title = 'Not found';
}
export class MethodNotAllowedError extends DomainError {
  readonly status = 405;
  readonly title = 'Method not allowed';
}
export class ConflictError extends DomainError {
  readonly status = 409;
  readonly title = 'Conflict';
}
export class PreconditionFailedError extends DomainError {
  readonly status = 412;
  readonly title = 'Precondition failed';
}
export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
  readonly title = 'Payload too large';
}
export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  readonly title = 'Unsupported media type';
}
