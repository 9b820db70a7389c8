import * as z from 'zod';

/**
 * An account id as tokens and producers send it: a positive integer, as a number or a digit string
 * (API Gateway hands JWT claims to the Lambda as strings).
 */
export const AccountIdSchema = z
  .union([z.number(), z.string().regex(/^\d{1,15}$/).transform(Number)])
  .pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER));
