import * as z from 'zod';
import { DomainError, type FieldError } from '../errors';

/** RFC 9457 problem details: the one place where errors become HTTP answers. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

export function problemFor(error: unknown): Problem {
  if (error instanceof DomainError) {
    return {
      type: `https://lms-webhooks.dev/problems/${error.status}`,
      title: error.title,
      status: error.status,
      detail: error.message,
      ...(error.errors.length > 0 && { errors: [...error.errors] }),
    };
  }
  // Anything unexpected: say nothing about it; the handler logs it with the request id.
  return { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'Something went wrong on our side.' };
}

export function fieldErrors(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    return {
      field: [...path, ...(unknownKeys.length === 1 ? unknownKeys : [])].join('.') || '(body)',
      message: issue.message,
    };
  });
}
