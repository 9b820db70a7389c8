import type { Node } from 'constructs';
import * as z from 'zod';
import { describeIssues } from '../shared/config';

/**
 * Schedule expressions EventBridge accepts: `rate(1 minute|hour|day)`, `rate(N minutes|hours|days)`
 * for N > 1, or a six-field `cron(...)`. The local runtime also takes `rate(N seconds)`; AWS does not.
 */
export function isAwsScheduleExpression(expression: string): boolean {
  const rate = /^rate\((\d+) (minute|hour|day)(s?)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    return value >= 1 && (value === 1) === (rate[3] === '');
  }
  return /^cron\(\S+( \S+){5}\)$/.test(expression);
}

const positiveInt = z.coerce.number().int().positive();

/** Keys read from CDK context (`cdk.json` or `-c key=value`); the defaults are the contract's. */
const DeploymentContextSchema = z.object({
  eventBusName: z
    .string()
    .regex(/^[\w.-]{1,256}$/, 'letters, digits, ".", "-" or "_" (at most 256)')
    .refine((name) => name !== 'default', 'producers must name a dedicated bus, not "default"')
    .default('lms-webhooks'),
  accountClaim: z.string().min(1).default('accountId'),
  batchSchedule: z
    .string()
    .refine(isAwsScheduleExpression, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not a schedule AWS accepts; use rate(1 minute), ` +
        'rate(N minutes|hours|days) or cron(<6 fields>) (rate(N seconds) works only on the local runtime)',
    })
    .default('rate(15 minutes)'),
  maxWebhooksPerAccount: positiveInt.default(5),
  /** Bounded by the delivery queue's 14-day retention, which must outlast the window. */
  retryWindowDays: positiveInt.max(13, 'at most 13: the delivery queue keeps messages 14 days').default(7),
  batchMaxEvents: positiveInt.default(100),
  deliveryLogTtlDays: positiveInt.default(30),
  /** Lambda's bounds for an SQS event source's maximum concurrency. */
  deliveryMaxConcurrency: positiveInt.min(2).max(1000).default(50),
  alarmEmail: z.email().optional(),
  /** Comma-separated (or a JSON array in cdk.json); CORS stays off without it. */
  corsOrigins: z
    .union([z.string(), z.array(z.string())])
    .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((o) => o.trim()).filter(Boolean))
    .optional(),
  /** The admin console's OpenID Connect client id at the JWT issuer; without it the console takes a pasted token. */
  consoleClientId: z.string().min(1).optional(),
});

export type DeploymentContext = z.infer<typeof DeploymentContextSchema>;

const CONTEXT_KEYS = Object.keys(DeploymentContextSchema.shape) as (keyof DeploymentContext)[];

/** Reads and validates the deployment's context, failing the synth with the offending key named. */
export function readDeploymentContext(node: Node): DeploymentContext {
  const raw = Object.fromEntries(CONTEXT_KEYS.map((key) => [key, node.tryGetContext(key)]));
  const result = DeploymentContextSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`Invalid CDK context: ${describeIssues(result.error)}`);
  }
  return result.data;
}
