import * as z from 'zod';
import { EVENT_NAMES } from '../events/catalogue';
import { HealthViewSchema } from './health-view';

/** Webhook model: what admins send, what is stored, and the view that never carries a secret. */
export const WEBHOOK_STATUSES = ['ACTIVE', 'INACTIVE', 'DISABLED'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

const username = z
  .string()
  .min(1)
  .max(200)
  .refine((v) => !v.includes(':'), 'must not contain ":" (Basic auth joins username and password with it)');

export const AuthInputSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('NONE') }),
  z.strictObject({ type: z.literal('BASIC'), username, password: z.string().min(1).max(200) }),
  z.strictObject({ type: z.literal('SIGNATURE') }),
]);
export type AuthInput = z.infer<typeof AuthInputSchema>;

const fields = {
  name: z.string().trim().min(1).max(100),
  description: z.string().max(500),
  targetUrl: z.string().min(1).max(2048),
  auth: AuthInputSchema,
  events: z
    .array(z.enum(EVENT_NAMES))
    .min(1)
    .max(EVENT_NAMES.length)
    .refine((names) => new Set(names).size === names.length, 'must not repeat an event name'),
  active: z.boolean(),
};

export const CreateWebhookSchema = z.strictObject({
  ...fields,
  description: fields.description.optional(),
  active: fields.active.default(true),
});
export type CreateWebhookInput = z.infer<typeof CreateWebhookSchema>;

export const UpdateWebhookSchema = z
  .strictObject({
    name: fields.name.optional(),
    description: fields.description.optional(),
    targetUrl: fields.targetUrl.optional(),
    auth: fields.auth.optional(),
    events: fields.events.optional(),
    active: fields.active.optional(),
    /** With `active: true` on a DISABLED webhook: skip what was held for it instead of sending it. */
    discardHeld: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'name at least one field to change')
  .refine((v) => v.discardHeld === undefined || v.active === true, { message: 'discardHeld goes with "active": true', path: ['discardHeld'] });
export type UpdateWebhookInput = z.infer<typeof UpdateWebhookSchema>;

export interface SigningSecret {
  readonly secret: string;
  readonly createdAt: string;
  /** Set on the previous secret at rotation: it keeps signing alongside the new one until then. */
  readonly expiresAt?: string;
}

/** A webhook's secrets: the Basic credentials or the signing secrets. */
export interface Credentials {
  readonly basic?: { readonly username: string; readonly password: string };
  readonly signingSecrets?: readonly SigningSecret[];
}

/**
 * A webhook as stored. Its secrets are only there sealed (`sealedCredentials`, envelope-encrypted,
 * see ./credentials.ts): only the functions that send or show them open them.
 */
export interface Webhook {
  readonly id: string;
  readonly accountId: number;
  readonly name: string;
  readonly description?: string;
  readonly targetUrl: string;
  readonly authType: AuthInput['type'];
  readonly events: readonly string[];
  readonly status: WebhookStatus;
  readonly statusReason?: string;
  /** DISABLED only: the delivery whose failure disabled it, sent first when it is re-enabled. */
  readonly disabledBy?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
  /** Basic auth's username, which views show; the password is sealed with the other secrets. */
  readonly basicUsername?: string;
  /** The `Credentials`, sealed; absent when the auth type has none. */
  readonly sealedCredentials?: string;
}

/** A webhook with its secrets opened, for signing, Basic auth and the signature download. */
export type WebhookWithCredentials = Webhook & { readonly credentials: Credentials };

export const AuthViewSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('NONE') }),
  z.object({ type: z.literal('BASIC'), username: z.string() }),
  z.object({ type: z.literal('SIGNATURE') }),
]);

export const WebhookViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  targetUrl: z.string(),
  auth: AuthViewSchema,
  events: z.array(z.string()),
  active: z.boolean(),
  status: z.enum(WEBHOOK_STATUSES),
  statusReason: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** `GET /webhooks/{id}` only: batch events waiting for the scheduled flush. */
  pendingBatchEvents: z.number().int().nonnegative().optional(),
  /** `GET /webhooks/{id}` only: when the batch schedule next runs (ISO 8601). */
  nextBatchFlushAt: z.string().optional(),
  /** `GET /webhooks/{id}` only: deliveries held while the webhook is DISABLED, sent when it is re-enabled. */
  heldDeliveries: z.number().int().nonnegative().optional(),
  /** `GET /webhooks/{id}` only: the event time of the oldest held delivery (ISO 8601). */
  oldestHeldEventAt: z.string().optional(),
  /** `GET /webhooks/{id}` only: success rate, last success and failure, what is undelivered and since when. */
  health: HealthViewSchema.optional(),
  /** `PATCH` that re-enabled a DISABLED webhook only: held deliveries sent again (`released`) or skipped. */
  heldRelease: z.object({ released: z.number().int(), skipped: z.number().int() }).optional(),
});
export type WebhookView = z.infer<typeof WebhookViewSchema>;

export function toView(webhook: Webhook): WebhookView {
  const auth: WebhookView['auth'] =
    webhook.authType === 'BASIC' ? { type: 'BASIC', username: webhook.basicUsername ?? '' } : { type: webhook.authType };
  return {
    id: webhook.id,
    name: webhook.name,
    ...(webhook.description !== undefined && { description: webhook.description }),
    targetUrl: webhook.targetUrl,
    auth,
    events: [...webhook.events],
    active: webhook.status === 'ACTIVE',
    status: webhook.status,
    ...(webhook.statusReason !== undefined && { statusReason: webhook.statusReason }),
    createdAt: webhook.createdAt,
    updatedAt: webhook.updatedAt,
  };
}

/** The secrets that sign a request at `now`: the current one and any previous one still in overlap. */
export function liveSigningSecrets(webhook: WebhookWithCredentials, now: Date): string[] {
  return (webhook.credentials.signingSecrets ?? [])
    .filter((s) => s.expiresAt === undefined || Date.parse(s.expiresAt) > now.getTime())
    .map((s) => s.secret);
}
