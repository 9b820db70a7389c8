import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '../errors';
import { newId } from '../ids';
import { checkTargetUrl } from '../net/address-policy';
import type { Page } from '../storage/pagination';
import type { EnvelopeCipher } from '../secrets/envelope';
import { generateSigningSecret } from '../signing';
import { openCredentials, sealCredentials } from './credentials';
import {
  liveSigningSecrets,
  toView,
  type AuthInput,
  type CreateWebhookInput,
  type Credentials,
  type SigningSecret,
  type UpdateWebhookInput,
  type Webhook,
  type WebhookView,
  type WebhookWithCredentials,
} from './model';
import type { WebhookStore } from './store';

export interface WebhookServiceOptions {
  readonly repository: WebhookStore;
  /** Seals the credentials of created and edited webhooks; opens them for the signature and tests. */
  readonly cipher: EnvelopeCipher;
  readonly maxWebhooksPerAccount: number;
  readonly allowPrivateTargets: boolean;
  readonly rotationOverlapSeconds: number;
  readonly now?: () => Date;
}

/** A created webhook; `signingSecret` is set, this once, when the webhook signs its requests. */
export interface CreatedWebhook {
  readonly webhook: Webhook;
  readonly signingSecret?: string;
}

/** An edited webhook; `reenabled` when `active: true` was sent to a DISABLED (or already ACTIVE) webhook, so what is held for it goes out. */
export interface UpdatedWebhook extends CreatedWebhook {
  readonly reenabled?: { readonly disabledBy?: string; readonly discardHeld: boolean };
}

/** The admin operations on webhooks, scoped to the caller's account. */
export class WebhookService {
  private readonly now: () => Date;

  constructor(private readonly options: WebhookServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async create(accountId: number, input: CreateWebhookInput): Promise<CreatedWebhook> {
    this.assertTargetUrl(input.targetUrl);
    const at = this.now().toISOString();
    const credentials = this.credentialsFor(input.auth, at);
    const id = newId('wh');
    const webhook: Webhook = {
      id,
      accountId,
      name: input.name,
      ...(input.description !== undefined && { description: input.description }),
      targetUrl: input.targetUrl,
      authType: input.auth.type,
      events: input.events,
      status: input.active ? 'ACTIVE' : 'INACTIVE',
      createdAt: at,
      updatedAt: at,
      version: 1,
      ...(await this.stored({ accountId, id }, credentials)),
    };
    await this.options.repository.create(webhook, this.options.maxWebhooksPerAccount);
    return { webhook, ...(credentials.signingSecrets && { signingSecret: credentials.signingSecrets[0]!.secret }) };
  }

  async get(accountId: number, webhookId: string): Promise<Webhook> {
    const webhook = await this.options.repository.get(accountId, webhookId);
    if (!webhook) throw new NotFoundError(`No webhook ${webhookId}.`);
    return webhook;
  }

  /** The webhook with its secrets opened: for the test request, which signs like a delivery. */
  async getWithCredentials(accountId: number, webhookId: string): Promise<WebhookWithCredentials> {
    return openCredentials(this.options.cipher, await this.get(accountId, webhookId));
  }

  async list(accountId: number, limit: number, nextToken?: string): Promise<Page<WebhookView>> {
    const page = await this.options.repository.list(accountId, limit, nextToken);
    return { ...page, items: page.items.map(toView) };
  }

  /**
   * Applies an edit. With `expectedVersion` (the client's If-Match) a concurrent change is a 412;
   * without it the edit applies to the version just read, and a lost race is still a 412, never a
   * silent overwrite.
   */
  async update(accountId: number, webhookId: string, changes: UpdateWebhookInput, expectedVersion?: number): Promise<UpdatedWebhook> {
    const current = await this.get(accountId, webhookId);
    if (expectedVersion !== undefined && current.version !== expectedVersion) {
      throw new PreconditionFailedError(`The webhook is at version ${current.version}, not ${expectedVersion}.`);
    }
    if (changes.targetUrl !== undefined) this.assertTargetUrl(changes.targetUrl);
    assertCredentialsFollowOrigin(current, changes);
    const at = this.now().toISOString();
    const authChanged = changes.auth !== undefined && !(changes.auth.type === 'SIGNATURE' && current.authType === 'SIGNATURE');
    const credentials = authChanged ? this.credentialsFor(changes.auth!, at) : undefined;
    const status = changes.active === undefined ? current.status : changes.active ? 'ACTIVE' : 'INACTIVE';
    const { statusReason: _previousReason, disabledBy: _disabledBy, basicUsername: _username, sealedCredentials: _sealed, ...unchanged } = current;
    const updated: Webhook = {
      ...unchanged,
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.description !== undefined && { description: changes.description }),
      ...(changes.targetUrl !== undefined && { targetUrl: changes.targetUrl }),
      ...(changes.events !== undefined && { events: changes.events }),
      ...(changes.auth !== undefined && { authType: changes.auth.type }),
      ...(status === current.status && current.statusReason !== undefined && { statusReason: current.statusReason }),
      ...(status === current.status && current.disabledBy !== undefined && { disabledBy: current.disabledBy }),
      status,
      // Unchanged auth keeps its sealed credentials as they are: an edit never opens them.
      ...(credentials ? await this.stored(current, credentials) : pickStored(current)),
      updatedAt: at,
      version: current.version + 1,
    };
    await this.options.repository.replace(updated, current.version);
    const newSecret = credentials?.signingSecrets?.[0]?.secret;
    // Also on an ACTIVE webhook, so a release cut short (the API's time ran out) resumes when the PATCH is sent again.
    const reenabled = changes.active === true && current.status !== 'INACTIVE';
    return {
      webhook: updated,
      ...(newSecret && { signingSecret: newSecret }),
      ...(reenabled && { reenabled: { ...(current.disabledBy !== undefined && { disabledBy: current.disabledBy }), discardHeld: changes.discardHeld === true } }),
    };
  }

  async delete(accountId: number, webhookId: string): Promise<void> {
    await this.options.repository.delete(accountId, webhookId);
  }

  /** Starts signing with a new secret; the previous one keeps signing alongside it for the overlap. */
  async rotateSigningSecret(accountId: number, webhookId: string): Promise<{ webhook: Webhook; signingSecret: string; previousSecretExpiresAt?: string }> {
    const current = await openCredentials(this.options.cipher, this.requireSignature(await this.get(accountId, webhookId)));
    const now = this.now();
    const overlapEnds = new Date(now.getTime() + this.options.rotationOverlapSeconds * 1000).toISOString();
    const live = liveSigningSecrets(current, now);
    const fresh: SigningSecret = { secret: generateSigningSecret(), createdAt: now.toISOString() };
    // Only the secret being replaced stays in overlap; older ones stop at once or at their own expiry.
    const previous = (current.credentials.signingSecrets ?? [])
      .filter((s) => live.includes(s.secret))
      .map((s, index) => (index === 0 ? { secret: s.secret, createdAt: s.createdAt, expiresAt: overlapEnds } : s));
    const { credentials: _opened, sealedCredentials: _sealed, ...unchanged } = current;
    const updated: Webhook = {
      ...unchanged,
      ...(await this.stored(current, { signingSecrets: [fresh, ...previous] })),
      updatedAt: now.toISOString(),
      version: current.version + 1,
    };
    await this.options.repository.replace(updated, current.version);
    return { webhook: updated, signingSecret: fresh.secret, ...(previous[0]?.expiresAt && { previousSecretExpiresAt: previous[0].expiresAt }) };
  }

  /** The downloadable signature document: the live secrets and how a listener verifies them. */
  async signatureDocument(accountId: number, webhookId: string): Promise<SignatureDocument> {
    const webhook = await openCredentials(this.options.cipher, this.requireSignature(await this.get(accountId, webhookId)));
    const now = this.now();
    const live = (webhook.credentials.signingSecrets ?? []).filter((s) => liveSigningSecrets(webhook, now).includes(s.secret));
    return {
      webhookId: webhook.id,
      webhookName: webhook.name,
      scheme: 'Standard Webhooks v1 (HMAC-SHA256)',
      secret: live[0]!.secret,
      secrets: live.map((s) => ({ secret: s.secret, createdAt: s.createdAt, ...(s.expiresAt && { expiresAt: s.expiresAt }) })),
      headers: {
        id: 'webhook-id',
        timestamp: 'webhook-timestamp',
        signature: 'webhook-signature',
      },
      verification: [
        'signedContent = "<webhook-id>.<webhook-timestamp>.<raw request body>"',
        'key = base64-decode(the secret without its "whsec_" prefix)',
        'expected = base64(HMAC-SHA256(key, signedContent))',
        'webhook-signature holds space-separated "v1,<signature>" entries; accept if any equals expected (constant-time compare)',
        'reject if webhook-timestamp is more than 5 minutes from now',
        'or use any Standard Webhooks / Svix library: new Webhook(secret).verify(body, headers)',
      ],
    };
  }

  private credentialsFor(auth: AuthInput, at: string): Credentials {
    switch (auth.type) {
      case 'NONE':
        return {};
      case 'BASIC':
        return { basic: { username: auth.username, password: auth.password } };
      case 'SIGNATURE':
        return { signingSecrets: [{ secret: generateSigningSecret(), createdAt: at }] };
    }
  }

  /** How `credentials` are stored: the username in the clear for views, everything sealed. */
  private async stored(webhook: Pick<Webhook, 'accountId' | 'id'>, credentials: Credentials): Promise<StoredCredentials> {
    const sealedCredentials = await sealCredentials(this.options.cipher, webhook, credentials);
    return pickStored({ basicUsername: credentials.basic?.username, sealedCredentials });
  }

  private requireSignature(webhook: Webhook): Webhook {
    if (webhook.authType !== 'SIGNATURE') {
      throw new ConflictError('This webhook does not use Signature auth; switch its auth to {"type":"SIGNATURE"} first.');
    }
    return webhook;
  }

  private assertTargetUrl(url: string): void {
    const problem = checkTargetUrl(url, this.options.allowPrivateTargets);
    if (problem) throw new ValidationError(`targetUrl ${problem}`, [{ field: 'targetUrl', message: problem }]);
  }
}

type StoredCredentials = Pick<Webhook, 'basicUsername' | 'sealedCredentials'>;

function pickStored({ basicUsername, sealedCredentials }: { basicUsername?: string | undefined; sealedCredentials?: string | undefined }): StoredCredentials {
  return { ...(basicUsername !== undefined && { basicUsername }), ...(sealedCredentials !== undefined && { sealedCredentials }) };
}

/**
 * A Basic password is sent to whatever the webhook points at, so moving the webhook to another
 * origin needs the password again: otherwise whoever may edit the URL could capture it.
 */
function assertCredentialsFollowOrigin(current: Webhook, changes: UpdateWebhookInput): void {
  if (current.authType !== 'BASIC' || changes.targetUrl === undefined || changes.auth !== undefined) return;
  if (new URL(changes.targetUrl).origin === new URL(current.targetUrl).origin) return;
  throw new ValidationError('The targetUrl moves to another origin: send auth again with the password for it (or change the auth type).', [
    { field: 'auth.password', message: 'required when targetUrl changes origin' },
  ]);
}

export interface SignatureDocument {
  webhookId: string;
  webhookName: string;
  scheme: string;
  secret: string;
  secrets: { secret: string; createdAt: string; expiresAt?: string }[];
  headers: { id: string; timestamp: string; signature: string };
  verification: string[];
}
