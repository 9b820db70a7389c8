import * as z from 'zod';
import { parseScheduleExpression } from './schedule';
import { SWEEPER } from './wiring';

/**
 * The service's settings, read from the environment once per container and validated; the CDK
 * stack and the local runtime both fill the same variables (see `settingsEnvironment`).
 */
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const seconds = z.coerce.number().int().positive();
const DAY_SECONDS = 86_400;

/**
 * Defaults of the settings that the functions' environment, CDK context and the local runtime all
 * take: each is written here once.
 */
export const DEFAULTS = {
  eventBusName: 'lms-webhooks',
  accountClaim: 'accountId',
  batchSchedule: 'rate(15 minutes)',
  maxWebhooksPerAccount: 5,
  batchMaxEvents: 100,
  retryWindowDays: 7,
  deliveryLogTtlDays: 30,
  deliveryMaxConcurrency: 50,
  requireScopes: true,
  apiReservedConcurrency: 20,
  routerReservedConcurrency: 10,
} as const;

/** Rules shared the same way: the settings below, CDK context and the local runtime's options use these. */
export const SHARED_RULES = {
  eventBusName: z
    .string()
    .regex(/^[\w.-]{1,256}$/, 'letters, digits, ".", "-" or "_" (at most 256)')
    .refine((name) => name !== 'default', 'producers must name a dedicated bus, not "default"')
    .default(DEFAULTS.eventBusName),
  accountClaim: z.string().min(1).default(DEFAULTS.accountClaim),
  /** AWS takes rates in minutes and up; the local runtime also in seconds. One parser decides for both. */
  batchSchedule: (where: { allowSeconds: boolean }) =>
    z
      .string()
      .superRefine((expression, ctx) => {
        try {
          parseScheduleExpression(expression, where);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .default(DEFAULTS.batchSchedule),
};

const SettingsSchema = z.object({
  TABLE_NAME: z.string().min(1),
  EVENT_BUS_NAME: SHARED_RULES.eventBusName,
  DELIVERY_QUEUE_URL: z.string().min(1).optional(),
  DELIVERY_DLQ_URL: z.string().min(1).optional(),
  /** The KMS key that seals webhook credentials (api and delivery functions). */
  CREDENTIALS_KEY_ID: z.string().min(1).optional(),
  /** The JWT claim that carries the caller's account id. */
  ACCOUNT_CLAIM: SHARED_RULES.accountClaim,
  MAX_WEBHOOKS_PER_ACCOUNT: z.coerce.number().int().min(1).max(100).default(DEFAULTS.maxWebhooksPerAccount),
  ALLOW_PRIVATE_TARGETS: flag.default(false),
  BATCH_MAX_EVENTS: z.coerce.number().int().min(1).max(1000).default(DEFAULTS.batchMaxEvents),
  BATCH_SCHEDULE: SHARED_RULES.batchSchedule({ allowSeconds: true }),
  /** Back-off between attempts; the last value repeats until the window closes (ALM's schedule). */
  RETRY_DELAYS_SECONDS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'a comma-separated list of whole seconds')
    .default('5,10,20,40,80,160,300')
    .transform((v) => v.split(',').map(Number)),
  RETRY_WINDOW_SECONDS: seconds.default(DEFAULTS.retryWindowDays * DAY_SECONDS),
  DELIVERY_LOG_TTL_DAYS: z.coerce.number().int().min(1).max(3650).default(DEFAULTS.deliveryLogTtlDays),
  SECRET_ROTATION_OVERLAP_SECONDS: seconds.default(DAY_SECONDS),
  /** When the sweeper rings a webhook's doorbell again: due but unanswered this long. */
  DOORBELL_OVERDUE_SECONDS: seconds.default(SWEEPER.overdueAfterSeconds),
  /** Where the admin console's built files are; unset, the folder `console` beside the function's code. */
  CONSOLE_ASSETS_DIR: z.string().min(1).optional(),
  /** The console's OpenID Connect sign-in: the JWT issuer and the console's client id (both, or neither). */
  CONSOLE_OIDC_ISSUER: z.url().optional(),
  CONSOLE_OIDC_CLIENT_ID: z.string().min(1).optional(),
})
  .refine((s) => (s.CONSOLE_OIDC_ISSUER === undefined) === (s.CONSOLE_OIDC_CLIENT_ID === undefined), {
    message: 'set both or neither',
    path: ['CONSOLE_OIDC_CLIENT_ID'],
  })
  .refine((s) => s.DELIVERY_LOG_TTL_DAYS * DAY_SECONDS > s.RETRY_WINDOW_SECONDS, {
    // An entry that expired mid-retry would vanish from the log and the backlog alike.
    message: 'the delivery log must be kept longer than the retry window',
    path: ['DELIVERY_LOG_TTL_DAYS'],
  });

export type Settings = z.infer<typeof SettingsSchema>;

/** The environment variable names the settings are read from (for code that writes them, like the CDK stack). */
export type SettingName = keyof z.input<typeof SettingsSchema>;

export class ConfigError extends Error {}

/** `path: message; …` — how settings, local options and CDK context report what is wrong. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

export function parseSettings(env: Record<string, string | undefined>): Settings {
  const result = SettingsSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(`Invalid configuration: ${describeIssues(result.error)}`);
  }
  return result.data;
}

let cached: Settings | undefined;

/** The settings of this container, parsed on first use; a bad environment fails the cold start loudly. */
export function settings(): Settings {
  cached ??= parseSettings(process.env);
  return cached;
}

/** Requires a setting that only some functions need, with a message naming it. */
export function required<K extends keyof Settings>(key: K): NonNullable<Settings[K]> {
  const value = settings()[key];
  if (value === undefined || value === null) throw new ConfigError(`Missing configuration: ${String(key)}`);
  return value as NonNullable<Settings[K]>;
}

/** For tests and the local runtime, which change the environment between runs. */
export function resetSettings(): void {
  cached = undefined;
}
