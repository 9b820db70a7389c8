import type { Node } from 'constructs';
import * as z from 'zod';
import { DEFAULTS, describeIssues, SHARED_RULES } from '../shared/config';

const positiveInt = z.coerce.number().int().positive();

/**
 * Keys read from CDK context (`cdk.json` or `-c key=value`); defaults and the shared rules come from
 * shared/config.ts, so a value the functions or the local runtime would refuse fails the synth.
 */
const DeploymentContextSchema = z.object({
  eventBusName: SHARED_RULES.eventBusName,
  accountClaim: SHARED_RULES.accountClaim,
  batchSchedule: SHARED_RULES.batchSchedule({ allowSeconds: false }),
  maxWebhooksPerAccount: positiveInt.default(DEFAULTS.maxWebhooksPerAccount),
  /** Bounded by the delivery queue's 14-day retention, which must outlast the window. */
  retryWindowDays: positiveInt.max(13, 'at most 13: the delivery queue keeps messages 14 days').default(DEFAULTS.retryWindowDays),
  batchMaxEvents: positiveInt.default(DEFAULTS.batchMaxEvents),
  deliveryLogTtlDays: positiveInt.default(DEFAULTS.deliveryLogTtlDays),
  /** Lambda's bounds for an SQS event source's maximum concurrency. */
  deliveryMaxConcurrency: positiveInt.min(2).max(1000).default(DEFAULTS.deliveryMaxConcurrency),
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
