import type { Node } from 'constructs';
import * as z from 'zod';
import { DEFAULTS, describeIssues, SHARED_RULES } from '../shared/config';

const positiveInt = z.coerce.number().int().positive();
/** `true` / `false` from cdk.json, or the same words from `-c key=value`. */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
/** Comma-separated from `-c key=value`, or a JSON array in cdk.json. */
const list = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter(Boolean));

/**
 * Keys read from CDK context (`cdk.json` or `-c key=value`); defaults and the shared rules come from
 * shared/config.ts, so a value the functions or the local runtime would refuse fails the synth.
 */
const DeploymentContextSchema = z.object({
  eventBusName: SHARED_RULES.eventBusName,
  accountClaim: SHARED_RULES.accountClaim,
  /** Routes require their OAuth scope; off only for identity providers that cannot issue scopes. */
  requireScopes: flag.default(DEFAULTS.requireScopes),
  batchSchedule: SHARED_RULES.batchSchedule({ allowSeconds: false }),
  maxWebhooksPerAccount: positiveInt.default(DEFAULTS.maxWebhooksPerAccount),
  /** Bounded by the delivery queue's 14-day retention, which must outlast the window. */
  retryWindowDays: positiveInt.max(13, 'at most 13: the delivery queue keeps messages 14 days').default(DEFAULTS.retryWindowDays),
  batchMaxEvents: positiveInt.default(DEFAULTS.batchMaxEvents),
  deliveryLogTtlDays: positiveInt.default(DEFAULTS.deliveryLogTtlDays),
  /** Lambda's bounds for an SQS event source's maximum concurrency. */
  deliveryMaxConcurrency: positiveInt.min(2).max(1000).default(DEFAULTS.deliveryMaxConcurrency),
  /** Reserved for the API and the router, so a delivery storm cannot starve them (1–1000). */
  apiReservedConcurrency: positiveInt.max(1000).default(DEFAULTS.apiReservedConcurrency),
  /** Also the ingest event source's ceiling; at least 2, Lambda's minimum for it. */
  routerReservedConcurrency: positiveInt.min(2).max(1000).default(DEFAULTS.routerReservedConcurrency),
  alarmEmail: z.email().optional(),
  /** AWS accounts whose producers may put `lms` events on the bus. */
  producerAccounts: list.pipe(z.array(z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'))).optional(),
  /** CORS stays off without it. */
  corsOrigins: list.optional(),
  /** The admin console's OpenID Connect client id at the JWT issuer; without it the console takes a pasted token. */
  consoleClientId: z.string().min(1).optional(),
}).refine((c) => c.deliveryLogTtlDays > c.retryWindowDays, {
  // An entry that expired while still being retried would vanish from the log and the backlog alike.
  error: (issue) => {
    const c = issue.input as { deliveryLogTtlDays: number; retryWindowDays: number };
    return `deliveryLogTtlDays (${c.deliveryLogTtlDays}) must be longer than retryWindowDays (${c.retryWindowDays}): a delivery must not expire while it is still retried`;
  },
  path: ['deliveryLogTtlDays'],
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
